// Prompt-injection detector: scores normalised text against general attack-class rules and
// rescans payloads that were hidden by encoding (base64, hex, url-encoding, Unicode tags).
import type { Normalized } from "../normalize.js";
import type { DetectorHit, TextKind } from "../types.js";
import { INJECTION_RULES, type InjectionRule } from "./injection-rules.js";
import { maxMatchLength } from "./match-span.js";
import { outOfPlaceRequest } from "./out-of-place.js";

export interface InjectionMatch {
  rule: string;
  kind:
    | InjectionRule["kind"]
    | "ascii_smuggling"
    | "invisible_characters"
    | "encoded_payload"
    | "task_hijack";
  weight: number;
  evidence: string;
}

export interface InjectionResult {
  score: number;
  matches: InjectionMatch[];
}

const EVIDENCE_CHARS = 120;

/** Scores one normalised text. `score` is 1 - prod(1 - weight) over the distinct rules that matched. */
export function scoreInjection(input: Normalized, kind: TextKind): InjectionResult {
  const matches = matchRules(input.text, kind);
  if (kind === "tool_output") {
    const hijack = outOfPlaceRequest(input.text);
    if (hijack) {
      matches.push({
        rule: `structure.request_at_${hijack.where}`,
        kind: "task_hijack",
        weight: 0.4,
        evidence: hijack.evidence,
      });
    }
  }
  if (input.invisibleCount >= 3) {
    matches.push({
      rule: "obfuscation.invisible",
      kind: "invisible_characters",
      weight: 0.25,
      evidence: `${input.invisibleCount} invisible characters`,
    });
  }
  for (const payload of input.hidden) {
    const inner = matchRules(payload.text, kind);
    const innerScore = combine(inner);
    if (payload.encoding === "unicode_tags") {
      // Tag characters have no place in ordinary text: hidden ASCII is itself an attack signal.
      matches.push({
        rule: "obfuscation.unicode_tags",
        kind: "ascii_smuggling",
        weight: 0.7,
        evidence: payload.text.slice(0, EVIDENCE_CHARS),
      });
    }
    if (innerScore > 0) {
      matches.push({
        rule: `obfuscation.${payload.encoding}`,
        kind: "encoded_payload",
        // Hiding text in base64 / hex / tag characters is suspicious in itself; %-encoding is routine.
        weight: Math.min(0.95, innerScore + (payload.encoding === "url" ? 0 : 0.15)),
        evidence: `${payload.encoding}: ${payload.text.slice(0, EVIDENCE_CHARS)}`,
      });
    }
  }
  return { score: combine(matches), matches };
}

/** One hit per text (the strongest kind names it) for the scanner. */
export function detectInjection(input: Normalized, kind: TextKind, threshold = 0): DetectorHit[] {
  const { score, matches } = scoreInjection(input, kind);
  if (matches.length === 0 || score < threshold) return [];
  const top = matches.reduce((a, b) => (b.weight > a.weight ? b : a));
  return [
    {
      detector: "injection",
      kind: top.kind,
      score: round(score),
      evidence: matches.map((m) => `${m.rule}: ${m.evidence}`).join(" | "),
    },
  ];
}

// Trigger prefilter: one linear pass finds every trigger of every rule. Word triggers (starting
// with [a-z0-9_]) are looked up only at word starts ("dan" must not fire inside "abundant");
// symbol triggers ("<|", "![") at every character that can start one. The keys form one trie, so
// a position costs one step per character that still continues some key (a table read for the
// first two characters of a word, then short child lists), however many keys share a prefix
// ("you" starts dozens). Every trigger that starts at a position is recorded, so "ignore
// previous" also counts as "ignore". A trigger ending in "$" must end at a word boundary ("me$"
// is the word "me", not "message").
const keyOf = (t: string) => (t.endsWith("$") ? t.slice(0, -1) : t);

interface Trigger {
  /** Index into TRIGGERS: positions are filed per id, not per string key. */
  id: number;
  key: string;
  /** Must be followed by a non-word character (or the end). */
  wordEnd: boolean;
}
const isWordCode = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
const WORD_CODE = new Uint8Array(128);
for (let c = 0; c < 128; c++) WORD_CODE[c] = isWordCode(c) ? 1 : 0;

// One entry per key; the word-end condition holds only if every spelling of the key asks for it.
const WORD_END = new Map<string, boolean>();
for (const raw of INJECTION_RULES.flatMap((r) => [...(r.triggers ?? []), ...(r.requires ?? [])]))
  WORD_END.set(keyOf(raw), (WORD_END.get(keyOf(raw)) ?? true) && raw.endsWith("$"));
const TRIGGERS: Trigger[] = [...WORD_END].map(([key, wordEnd], id) => ({ id, key, wordEnd }));
const TRIGGER_ID = new Map(TRIGGERS.map((t) => [t.key, t.id]));

// The trie in flat arrays. Node 0 is the root; a node has its character, its first child and next
// sibling (0 = none), and the trigger ending there (id + 1, 0 = none; negative: word end required).
const nodeChar: number[] = [0];
const nodeChild: number[] = [0];
const nodeSibling: number[] = [0];
const nodeTerm: number[] = [0];
function childOf(node: number, c: number): number {
  for (let k = nodeChild[node]; k !== 0; k = nodeSibling[k]) if (nodeChar[k] === c) return k;
  return 0;
}
for (const t of TRIGGERS) {
  let node = 0;
  for (let i = 0; i < t.key.length; i++) {
    const c = t.key.charCodeAt(i);
    let next = childOf(node, c);
    if (next === 0) {
      next = nodeChar.push(c) - 1;
      nodeChild.push(0);
      nodeTerm.push(0);
      nodeSibling.push(nodeChild[node]);
      nodeChild[node] = next;
    }
    node = next;
  }
  nodeTerm[node] = t.wordEnd ? -(t.id + 1) : t.id + 1;
}
// 16-bit tables keep the trie within fewer cache lines: it has a few thousand nodes.
if (nodeChar.length >= 65536 || TRIGGERS.length >= 32768)
  throw new Error("trigger trie too large for its 16-bit tables");
// The trigger pass ends a text with 0s, where every walk stops.
if (nodeChar.includes(0, 1)) throw new Error("a trigger key holds U+0000");
const CHAR = Uint16Array.from(nodeChar);
const CHILD = Uint16Array.from(nodeChild);
const SIBLING = Uint16Array.from(nodeSibling);
const TERM = Int16Array.from(nodeTerm);
// Nodes with several children also get a row of 128 (ASCII) in DENSE: ROW[node] is its offset.
const ROW = new Uint16Array(CHAR.length);
let denseRows = 1;
for (let node = 0; node < CHAR.length; node++) {
  let children = 0;
  if (denseRows * 128 >= 65536) break; // the others scan their child lists
  for (let k = CHILD[node]; k !== 0; k = SIBLING[k]) children++;
  if (children >= 3) ROW[node] = 128 * denseRows++;
}
const DENSE = new Uint16Array(128 * denseRows);
for (let node = 0; node < CHAR.length; node++)
  if (ROW[node] !== 0)
    for (let k = CHILD[node]; k !== 0; k = SIBLING[k]) if (CHAR[k] < 128) DENSE[ROW[node] + CHAR[k]] = k;
// The first two levels for word starts as tables: DEPTH1[c0] and DEPTH2[c0 * 128 + c1] (ASCII).
const DEPTH1 = new Uint16Array(128);
const DEPTH2 = new Uint16Array(128 * 128);
for (let c0 = 0; c0 < 128; c0++) {
  const n1 = childOf(0, c0);
  DEPTH1[c0] = n1;
  if (n1 !== 0) for (let c1 = 0; c1 < 128; c1++) DEPTH2[c0 * 128 + c1] = childOf(n1, c1);
}

// Where a key can start, one table read per character: bit 1 = word character (a word trigger
// needs a word start), bit 2 = can start a symbol trigger.
const START = new Uint8Array(65536);
for (let c = 0; c < 128; c++) if (WORD_CODE[c] === 1) START[c] = 1;
// Non-ASCII characters that start a key ("忽略"), with their trie node.
const SYMBOL_START = new Map<number, number>();
for (let k = CHILD[0]; k !== 0; k = SIBLING[k]) {
  if (CHAR[k] < 128 && WORD_CODE[CHAR[k]] === 1) continue;
  START[CHAR[k]] = 2;
  if (CHAR[k] >= 128) SYMBOL_START.set(CHAR[k], k);
}

/** Trigger positions of one text: `at[id]` lists where trigger `id` starts; `ids` those found. */
interface Found {
  ids: number[];
  at: Array<number[] | undefined>;
}

function record(found: Found, id: number, at: number): void {
  const hits = found.at[id];
  if (hits) hits.push(at);
  else {
    found.at[id] = [at];
    found.ids.push(id);
  }
}

/** The child of `node` for character `c` (0 = none). */
function child(node: number, c: number): number {
  const row = ROW[node];
  if (row !== 0 && c < 128) return DENSE[row + c];
  let k = CHILD[node];
  while (k !== 0 && CHAR[k] !== c) k = SIBLING[k];
  return k;
}

/**
 * Records every key that starts at `start` and continues from `node` (which ends at `end`).
 * `codes` holds the text's code units followed by a 0 (no key holds one), where the walk stops.
 */
function walk(found: Found, codes: Uint16Array, start: number, node: number, end: number): void {
  for (;;) {
    const term = TERM[node];
    if (term > 0) record(found, term - 1, start);
    else if (term < 0) {
      const next = codes[end];
      if (!(next < 128 && WORD_CODE[next] === 1)) record(found, -term - 1, start);
    }
    const k = child(node, codes[end]);
    if (k === 0) return;
    node = k;
    end++;
  }
}

// Reused between texts (cleared through `ids`): a fresh array per text costs more in GC than the
// pass itself on short strings. matchRules does not nest, so one is enough.
const SHARED_AT: Array<number[] | undefined> = new Array(TRIGGERS.length).fill(undefined);
// The text's code units and its candidate positions, reused between texts up to this length (a
// longer text gets buffers of its own, which are not kept).
const REUSED_LENGTH = 65536;
let sharedUnits = Buffer.alloc(2 * 8192 + 8);
let sharedCandidates = new Int32Array(8192);

/** The text's UTF-16 code units in a typed array, then three 0s. */
function codeUnits(text: string): Uint16Array {
  const n = text.length;
  let bytes = sharedUnits;
  if (bytes.length < 2 * n + 6) {
    bytes = Buffer.allocUnsafe(2 * n + 6);
    if (n <= REUSED_LENGTH) sharedUnits = bytes;
  }
  // Reading a typed array costs less than charCodeAt, which checks the string's representation
  // (one- or two-byte, flat or not) on every call; the copy is one native write.
  bytes.write(text, 0, "utf16le");
  const codes = new Uint16Array(bytes.buffer, bytes.byteOffset, n + 3);
  codes[n] = 0;
  codes[n + 1] = 0;
  codes[n + 2] = 0;
  return codes;
}

function triggerPositions(text: string): Found {
  const found: Found = { ids: [], at: SHARED_AT };
  const n = text.length;
  const codes = codeUnits(text);
  let at = sharedCandidates;
  if (at.length <= n) {
    at = new Int32Array(n + 1);
    if (n <= REUSED_LENGTH) sharedCandidates = at;
  }
  // First every word start and symbol start, without a branch per character: each position is
  // written and the count only moves past it when it is one. A branch on "word start?" is
  // mispredicted at most word boundaries, which costs more than the lookups themselves.
  let count = 0;
  let prevWord = 0;
  for (let i = 0; i < n; i++) {
    const start = START[codes[i]];
    const word = start & 1;
    at[count] = i;
    count += (word & (prevWord ^ 1)) | (start >> 1);
    prevWord = word;
  }
  for (let j = 0; j < count; j++) {
    const i = at[j];
    const c = codes[i];
    if (c < 128 && WORD_CODE[c] === 1) {
      const n1 = DEPTH1[c];
      if (n1 === 0) continue;
      const c1 = codes[i + 1];
      if (TERM[n1] !== 0 || c1 >= 128) {
        walk(found, codes, i, n1, i + 1);
        continue;
      }
      const n2 = DEPTH2[c * 128 + c1];
      if (n2 === 0) continue;
      if (TERM[n2] !== 0) {
        walk(found, codes, i, n2, i + 2);
        continue;
      }
      // Most words that get this far leave the trie at their third character: one step here.
      const n3 = child(n2, codes[i + 2]);
      if (n3 !== 0) walk(found, codes, i, n3, i + 3);
    } else {
      const k = c < 128 ? DEPTH1[c] : (SYMBOL_START.get(c) ?? 0);
      if (k !== 0) walk(found, codes, i, k, i + 1);
    }
  }
  return found;
}

// Trigger ids of each rule ("me$" is filed as "me"), and the other way round: trigger id -> the
// rules it belongs to (a text holds few distinct triggers, so counting per rule from the
// triggers found is cheaper than asking every rule).
const RULE_TRIGGERS = INJECTION_RULES.map((r) =>
  r.triggers ? [...new Set(r.triggers.map((t) => TRIGGER_ID.get(keyOf(t)) as number))] : null,
);
const RULE_REQUIRES = INJECTION_RULES.map((r) =>
  r.requires ? [...new Set(r.requires.map((t) => TRIGGER_ID.get(keyOf(t)) as number))] : null,
);
const TRIGGER_RULES: number[][] = TRIGGERS.map(() => []);
RULE_TRIGGERS.forEach((ids, i) => {
  for (const id of ids ?? []) TRIGGER_RULES[id].push(i);
});

// Every match of a rule contains one of its triggers, so it lies within `span` characters of the
// trigger's start either way (span = the longest match the pattern allows, see match-span.ts).
// Rules anchored at a line start (^) get a window that starts at a line start.
// A rule anchored at its triggers (`anchor`) needs the window on one side only.
const SPAN = INJECTION_RULES.map((r) => Math.min(1200, maxMatchLength(r.re.source)));
const LONGEST_TRIGGER = INJECTION_RULES.map((r) =>
  Math.max(0, ...(r.triggers ?? []).map((t) => keyOf(t).length)),
);
const BEFORE = INJECTION_RULES.map((r, i) => (r.anchor === "start" ? 0 : SPAN[i]));
const AFTER = INJECTION_RULES.map((r, i) => (r.anchor === "end" ? LONGEST_TRIGGER[i] : SPAN[i]));
const ANCHORED = INJECTION_RULES.map((r) => /(?:^|[^\\[])\^/.test(r.re.source));
// A rule kept within one sentence (`sentence`) needs no text beyond the sentence breaks around a
// trigger: its window starts at the last ".", "!" or "?" before it and ends at the next one.
const SENTENCE = INJECTION_RULES.map((r) => r.sentence === true);
// More windows than this, or windows covering most of the text: one pass over the whole text.
const MAX_WINDOWS = 64;
const WHOLE_FRACTION = 0.6;

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  const found = triggerPositions(text);
  try {
    return rulesOver(text, kind, found);
  } finally {
    for (const id of found.ids) found.at[id] = undefined;
  }
}

function rulesOver(text: string, kind: TextKind, found: Found): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  const counts = new Int32Array(INJECTION_RULES.length);
  for (const id of found.ids) {
    const n = (found.at[id] as number[]).length;
    for (const i of TRIGGER_RULES[id]) counts[i] += n;
  }
  for (let i = 0; i < INJECTION_RULES.length; i++) {
    const rule = INJECTION_RULES[i];
    const weight = rule.weight[kind];
    if (weight === undefined) continue;
    const ids = RULE_TRIGGERS[i];
    let m: RegExpExecArray | null = null;
    if (!ids) {
      m = firstMatch(rule.re, text);
    } else {
      let count = counts[i];
      if (count === 0) continue;
      const requires = RULE_REQUIRES[i];
      let positions: number[] | null = null;
      if (requires || rule.lead) {
        positions = requires ? nearRequired(found, ids, requires, SPAN[i]) : triggerHits(found, ids);
        if (positions !== null && rule.lead) positions = leading(text, positions, rule.lead);
        if (positions === null) continue;
        count = positions.length;
      }
      if (count > MAX_WINDOWS || text.length <= BEFORE[i] + AFTER[i]) {
        m = firstMatch(rule.re, text);
      } else {
        if (positions === null) positions = triggerHits(found, ids);
        const spans = windows(text, positions, BEFORE[i], AFTER[i], SENTENCE[i]);
        if (spans.covered > WHOLE_FRACTION * text.length) m = firstMatch(rule.re, text);
        else
          for (let w = 0; w < spans.list.length && !m; w += 2) {
            const start = spans.list[w];
            // Start the window at a word boundary so \b in the rule means what it says; rules
            // anchored with ^ get a window that starts at a line start, where ^ is true anyway.
            // End it at a word boundary too, or a word cut in two could end a match.
            // A sentence window starts at its sentence break, which no match crosses.
            const ws =
              start === 0 || (SENTENCE[i] && isBreak(text.charCodeAt(start)))
                ? start
                : text.lastIndexOf(ANCHORED[i] ? "\n" : " ", start) + 1;
            let we = spans.list[w + 1];
            while (we < text.length && isWordCode(text.charCodeAt(we))) we++;
            m = firstMatch(rule.re, text.slice(ws, we));
          }
      }
    }
    if (m)
      out.push({ rule: rule.id, kind: rule.kind, weight, evidence: m[0].trim().slice(0, EVIDENCE_CHARS) });
  }
  return out;
}

// firstMatch runs a rule's regex twice on one text: a global or sticky one would resume the second
// run where the first ended.
if (INJECTION_RULES.some((r) => r.re.global || r.re.sticky))
  throw new Error("injection rules must not use the g or y flag");

/** The rule's match in `text`, or null. `test` first: most windows hold none, and a failed `exec`
 * costs more than a failed `test` (V8 prepares a result object for it). */
function firstMatch(re: RegExp, text: string): RegExpExecArray | null {
  return re.test(text) ? re.exec(text) : null;
}

/**
 * Positions of the rule's triggers that have one of its `requires` within `span` characters
 * (every match holds both and is at most `span` long, so other triggers start no match), sorted;
 * null when there are none.
 */
function nearRequired(found: Found, ids: number[], requires: number[], span: number): number[] | null {
  const required: number[] = [];
  for (const id of requires) {
    const hits = found.at[id];
    if (hits) for (const q of hits) required.push(q);
  }
  if (required.length === 0) return null;
  required.sort((a, b) => a - b);
  const positions = triggerHits(found, ids);
  positions.sort((a, b) => a - b);
  const near: number[] = [];
  let r = 0;
  for (const p of positions) {
    while (r < required.length && required[r] <= p - span) r++;
    if (r < required.length && required[r] < p + span) near.push(p);
  }
  return near.length > 0 ? near : null;
}

/** Where the triggers `ids` start (unsorted). */
function triggerHits(found: Found, ids: number[]): number[] {
  const positions: number[] = [];
  for (const id of ids) {
    const hits = found.at[id];
    if (hits) for (const p of hits) positions.push(p);
  }
  return positions;
}

/** The positions whose text before passes the rule's `lead` check; null when none does. */
function leading(
  text: string,
  positions: number[],
  lead: (text: string, at: number) => boolean,
): number[] | null {
  const kept = positions.filter((p) => lead(text, p));
  return kept.length > 0 ? kept : null;
}

/** Merged [p - before, p + after) windows around the positions, flattened to [start, end, ...]. */
function windows(
  text: string,
  positions: number[],
  before: number,
  after: number,
  sentence: boolean,
): { list: number[]; covered: number } {
  positions.sort((a, b) => a - b);
  const length = text.length;
  const list: number[] = [];
  let covered = 0;
  for (const p of positions) {
    let start = Math.max(0, p - before);
    let end = Math.min(length, p + after);
    if (sentence) {
      // Both bounds only grow with p, so the windows stay in order for the merge below.
      for (let j = p - 1; j >= start; j--)
        if (isBreak(text.charCodeAt(j))) {
          start = j;
          break;
        }
      for (let j = p; j < end; j++)
        if (isBreak(text.charCodeAt(j))) {
          end = j;
          break;
        }
    }
    const n = list.length;
    if (n > 0 && start <= list[n - 1]) {
      if (end > list[n - 1]) {
        covered += end - list[n - 1];
        list[n - 1] = end;
      }
    } else {
      list.push(start, end);
      covered += end - start;
    }
  }
  return { list, covered };
}

/** ".", "!" or "?". */
const isBreak = (c: number) => c === 46 || c === 33 || c === 63;

function combine(matches: Array<{ weight: number }>): number {
  let miss = 1;
  for (const m of matches) miss *= 1 - m.weight;
  return 1 - miss;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
