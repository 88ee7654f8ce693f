// Task hijacking without attack vocabulary: a request addressed to the assistant ("Draft an essay
// about…", "What is 'Bibliothek' in English?") placed where data is expected — at the very start
// or end of a tool output, or as a free-text line inside a table. Text kind `tool_output` only.
// Works on normalised (lower-case) text and looks only at the edges and at table lines, so the
// cost does not grow with the size of ordinary prose.

import { isJsSpace } from "./js-space.js";

const TASK_VERBS =
  "write|draft|compose|create|generate|explain|describe|summari[sz]e|translate|list|give|provide|tell|recommend|suggest|calculate|compute|solve|define|compare|name|outline|analy[sz]e|classify|convert|rewrite|paraphrase|answer|respond|reply|produce|offer|replace|reverse|spell|encode|decode|jumble|scramble|conclude|mention|express|invent|brainstorm|discuss|identify|teach|modify|combine|alternate|capitali[sz]e|substitute";
const QUESTION =
  "what|how|who|why|when|where|which|can you|could you|would you|will you|is it|are there|do you|does";

// A whole sentence that opens with a task verb or a question word, of sentence length.
// Questions must end with a question mark ("When you start a session, …" is not one).
const REQUEST = new RegExp(
  `^(?:(?:${TASK_VERBS})\\b[^\\n|]{8,240}?(?:[.?!]|$)|(?:${QUESTION})\\b[^\\n|.!?]{6,240}\\?)`,
);
const EDGE = 320;

export interface OutOfPlaceMatch {
  where: "start" | "end" | "table_line";
  evidence: string;
}

export function outOfPlaceRequest(text: string): OutOfPlaceMatch | null {
  const head = text.slice(0, EDGE).trimStart();
  // The first sentence must be followed by more content (data), not be the whole output.
  const first = REQUEST.exec(head);
  if (first && text.length > first[0].length + 40 && isStandalone(first[0])) {
    return { where: "start", evidence: first[0].slice(0, 120) };
  }
  const tail = lastSentence(text.slice(-EDGE));
  if (tail && text.length > tail.length + 40) {
    const m = REQUEST.exec(tail);
    if (m && isStandalone(m[0])) return { where: "end", evidence: m[0].slice(0, 120) };
  }
  if (text.includes("\n|") || text.startsWith("|")) {
    // Line by line without splitting, one look at each line's first non-space character: most
    // lines of a table are rows, and only a free-text line right after a row can be out of place.
    let start = 0;
    let previousIsRow = false;
    for (let i = 0; ; i++) {
      const nl = text.indexOf("\n", start);
      // The last line has no line after it: it is not between rows.
      if (nl === -1) break;
      const first = firstNonSpace(text, start, nl);
      const isRowLine = first < nl && text.charCodeAt(first) === PIPE;
      // Between two table rows (the next line or the one after), a free-text line is out of
      // place; a request there is a hijack. Blank lines and rows are not free text.
      if (i >= 1 && previousIsRow && !isRowLine && first < nl && rowFollows(text, nl + 1)) {
        const m = REQUEST.exec(text.slice(first, nl).trim());
        if (m) return { where: "table_line", evidence: m[0].slice(0, 120) };
      }
      previousIsRow = isRowLine;
      start = nl + 1;
    }
  }
  return null;
}

const PIPE = 124;

/** Index of the first character of [from, to) that String#trim would keep, or `to`. */
function firstNonSpace(text: string, from: number, to: number): number {
  let j = from;
  while (j < to && isSpace(text.charCodeAt(j))) j++;
  return j;
}

/** The line starting at `start` or the one after it is a table row. */
function rowFollows(text: string, start: number): boolean {
  const nl = text.indexOf("\n", start);
  if (isRow(text, start, nl === -1 ? text.length : nl)) return true;
  if (nl === -1) return false;
  const after = text.indexOf("\n", nl + 1);
  return isRow(text, nl + 1, after === -1 ? text.length : after);
}

/** A table row: the line's first non-space character is "|". */
function isRow(text: string, from: number, to: number): boolean {
  const j = firstNonSpace(text, from, to);
  return j < to && text.charCodeAt(j) === PIPE;
}

/** What String#trim removes. */
const isSpace = isJsSpace;

/** The last sentence of the text (after the last sentence end or line break before it). */
function lastSentence(tail: string): string | null {
  const t = tail.trimEnd();
  let cut = -1;
  for (let i = t.length - 2; i >= 0; i--) {
    const c = t[i];
    if (c === "\n" || c === "|" || ((c === "." || c === "?" || c === "!") && t[i + 1] === " ")) {
      cut = i;
      break;
    }
  }
  if (cut < 0) return null;
  return t.slice(cut + 1).trim();
}

/** A real sentence: several words, not a heading or a key: value pair. */
function isStandalone(s: string): boolean {
  const words = s.split(/\s+/).length;
  return words >= 4 && !/^[\w ]{1,30}:\s/.test(s);
}
