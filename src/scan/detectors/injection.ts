// Prompt-injection detector: scores normalised text against general attack-class rules and
// rescans payloads that were hidden by encoding (base64, hex, url-encoding, Unicode tags).
import type { Normalized } from "../normalize.js";
import type { DetectorHit, TextKind } from "../types.js";
import { INJECTION_RULES, type InjectionRule } from "./injection-rules.js";
import { maxMatchLength } from "./match-span.js";
import { outOfPlaceRequest } from "./out-of-place.js";
import { TriggerAutomaton, type TriggerKey, type TriggerScan } from "./trigger-automaton.js";

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

// Trigger prefilter: one linear pass finds every trigger of every rule (and the sentence breaks
// the `sentence` windows stop at), see trigger-automaton.ts. Word triggers (starting with
// [a-z0-9_]) count only at word starts ("dan" must not fire inside "abundant"); symbol triggers
// ("<|", "![") anywhere. Every trigger that starts at a position is recorded, so "ignore previous"
// also counts as "ignore". A trigger ending in "$" must end at a word boundary ("me$" is the word
// "me", not "message").
const keyOf = (t: string) => (t.endsWith("$") ? t.slice(0, -1) : t);
const isWordCode = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

// One entry per key; the word-end condition holds only if every spelling of the key asks for it.
const WORD_END = new Map<string, boolean>();
for (const raw of INJECTION_RULES.flatMap((r) => [...(r.triggers ?? []), ...(r.requires ?? [])]))
  WORD_END.set(keyOf(raw), (WORD_END.get(keyOf(raw)) ?? true) && raw.endsWith("$"));
/** Every trigger and required key of the injection rules, as the automaton reads them. */
export const TRIGGERS: TriggerKey[] = [...WORD_END].map(([key, wordEnd]) => ({ key, wordEnd }));
const TRIGGER_ID = new Map(TRIGGERS.map((t, id) => [t.key, id]));
const SENTENCE_BREAKS = ".!?";
const AUTOMATON = new TriggerAutomaton(TRIGGERS, SENTENCE_BREAKS);

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
// A sentence rule's required key must lie between the breaks around its trigger (nearRequired),
// so it must not hold one itself.
for (const r of INJECTION_RULES)
  if (r.sentence && r.requires?.some((k) => /[.!?]/.test(k)))
    throw new Error(`${r.id}: a sentence rule's required keys must not hold ".", "!" or "?"`);
// More windows than this, or windows covering most of the text: one pass over the whole text.
const MAX_WINDOWS = 64;
const WHOLE_FRACTION = 0.6;

// Weight of each rule per kind of text (-1: the rule does not apply to it).
const WEIGHTS: Record<TextKind, Float64Array> = {
  argument: Float64Array.from(INJECTION_RULES, (r) => r.weight.argument ?? -1),
  tool_output: Float64Array.from(INJECTION_RULES, (r) => r.weight.tool_output ?? -1),
  tool_definition: Float64Array.from(INJECTION_RULES, (r) => r.weight.tool_definition ?? -1),
};

// Buffers of one text, reused (matchRules does not nest): trigger counts per rule, and for the
// rule being run its trigger positions, its required keys' positions and its windows.
const COUNTS = new Int32Array(INJECTION_RULES.length);
let positions: Int32Array = new Int32Array(1024);
let required: Int32Array = new Int32Array(1024);
let spans: Int32Array = new Int32Array(2048);
/** How much text the windows of the last `windows` call cover. */
let covered = 0;

/** Buffers grown past this many entries (a long text full of triggers) are not kept. */
const REUSED_ENTRIES = 65536;

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  const matches = rulesOver(text, kind, AUTOMATON.scan(text));
  if (positions.length > REUSED_ENTRIES) positions = new Int32Array(1024);
  if (required.length > REUSED_ENTRIES) required = new Int32Array(1024);
  if (spans.length > REUSED_ENTRIES) spans = new Int32Array(2048);
  return matches;
}

function rulesOver(text: string, kind: TextKind, found: TriggerScan): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  const counts = COUNTS;
  counts.fill(0);
  for (let k = 0; k < found.idCount; k++) {
    const id = found.ids[k];
    const n = found.count[id];
    for (const i of TRIGGER_RULES[id]) counts[i] += n;
  }
  const weights = WEIGHTS[kind];
  for (let i = 0; i < INJECTION_RULES.length; i++) {
    const ids = RULE_TRIGGERS[i];
    if (ids !== null && counts[i] === 0) continue;
    const weight = weights[i];
    if (weight < 0) continue;
    const rule = INJECTION_RULES[i];
    let m: RegExpExecArray | null = null;
    if (ids === null) {
      m = firstMatch(rule.re, text);
    } else {
      let count = counts[i];
      let listed = false;
      const requires = RULE_REQUIRES[i];
      if (requires !== null || rule.lead) {
        count = collect(found, ids);
        if (requires !== null) count = nearRequired(found, count, requires, i, text);
        if (rule.lead) count = leading(text, count, rule.lead);
        if (count === 0) continue;
        listed = true;
      }
      if (count > MAX_WINDOWS || text.length <= BEFORE[i] + AFTER[i]) {
        m = firstMatch(rule.re, text);
      } else {
        if (!listed) count = collect(found, ids);
        const n = windows(text.length, count, BEFORE[i], AFTER[i], SENTENCE[i] ? found : null);
        if (covered > WHOLE_FRACTION * text.length) m = firstMatch(rule.re, text);
        else
          for (let w = 0; w < n && !m; w += 2) {
            const start = spans[w];
            // Start the window at a word boundary so \b in the rule means what it says; rules
            // anchored with ^ get a window that starts at a line start, where ^ is true anyway.
            // End it at a word boundary too, or a word cut in two could end a match.
            // A sentence window starts at its sentence break, which no match crosses.
            const ws =
              SENTENCE[i] && isBreak(text.charCodeAt(start))
                ? start
                : wordOrLineStart(text, start, ANCHORED[i]);
            let we = spans[w + 1];
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

/** How many times the keys `ids` occur. */
function hitCount(found: TriggerScan, ids: number[]): number {
  let n = 0;
  for (const id of ids) n += found.count[id];
  return n;
}

/** Copies where the keys `ids` start into `into` (long enough), ascending; returns how many. */
function fill(found: TriggerScan, ids: number[], into: Int32Array): number {
  const { count, first, starts } = found;
  let n = 0;
  let lists = 0;
  for (const id of ids) {
    const c = count[id];
    if (c === 0) continue;
    for (let q = first[id], end = q + c; q < end; q++) into[n++] = starts[q];
    lists++;
  }
  // Each key's positions are ascending already; a native sort when several are interleaved.
  if (lists > 1) into.subarray(0, n).sort();
  return n;
}

/** Where the rule's triggers `ids` start, into `positions`, ascending; returns how many. */
function collect(found: TriggerScan, ids: number[]): number {
  const n = hitCount(found, ids);
  if (positions.length < n) positions = new Int32Array(2 * n);
  return fill(found, ids, positions);
}

/**
 * Keeps the first `count` positions whose window (as `windows` cuts it for rule `i`, before
 * merging and before it is widened to word or line starts) holds the start of one of the rule's
 * `requires`: every match holds a required key and lies in the window of a trigger it holds, so
 * other triggers start no match. For a rule anchored at the start of its triggers the window
 * starts at the trigger's word or line start, for one anchored at their end it ends with the
 * longest trigger, and a `sentence` rule's window lies between the breaks around the trigger.
 * Returns how many are kept.
 */
function nearRequired(
  found: TriggerScan,
  count: number,
  requires: number[],
  i: number,
  text: string,
): number {
  const total = hitCount(found, requires);
  if (total === 0) return 0;
  if (required.length < total) required = new Int32Array(2 * total);
  fill(found, requires, required);
  const span = SPAN[i];
  const anchor = INJECTION_RULES[i].anchor;
  const { breaks, breakCount } = found;
  const sentence = SENTENCE[i];
  let kept = 0;
  let r = 0;
  // Index of the first break at or after p (p only grows, and so do both bounds).
  let b = 0;
  for (let j = 0; j < count; j++) {
    const p = positions[j];
    let from = anchor === "start" ? wordOrLineStart(text, p, ANCHORED[i]) : p - span + 1;
    let to = p + (anchor === "end" ? AFTER[i] : span);
    if (sentence) {
      while (b < breakCount && breaks[b] < p) b++;
      if (b > 0 && breaks[b - 1] > from) from = breaks[b - 1];
      if (b < breakCount && breaks[b] < to) to = breaks[b];
    }
    while (r < total && required[r] < from) r++;
    if (r < total && required[r] < to) positions[kept++] = p;
  }
  return kept;
}

/** Where a window that starts at `p` starts: the word start, or for `^` rules the line start. */
function wordOrLineStart(text: string, p: number, lineAnchored: boolean): number {
  return p === 0 ? 0 : text.lastIndexOf(lineAnchored ? "\n" : " ", p) + 1;
}

/** Keeps the first `count` positions whose text before passes the rule's `lead` check. */
function leading(text: string, count: number, lead: (text: string, at: number) => boolean): number {
  let kept = 0;
  for (let j = 0; j < count; j++) if (lead(text, positions[j])) positions[kept++] = positions[j];
  return kept;
}

/**
 * Merged [p - before, p + after) windows around the first `count` positions (ascending), into
 * `spans` as [start, end, ...]; returns the length used and sets `covered`. With `sentence` (the
 * scan's breaks), each window is cut at the last break before p and the first one from p on.
 */
function windows(
  length: number,
  count: number,
  before: number,
  after: number,
  sentence: TriggerScan | null,
): number {
  if (spans.length < 2 * count) spans = new Int32Array(2 * count);
  let n = 0;
  covered = 0;
  // Index of the first break at or after p (p only grows).
  let b = 0;
  for (let j = 0; j < count; j++) {
    const p = positions[j];
    let start = Math.max(0, p - before);
    let end = Math.min(length, p + after);
    if (sentence !== null) {
      // Both bounds only grow with p, so the windows stay in order for the merge below.
      const { breaks, breakCount } = sentence;
      while (b < breakCount && breaks[b] < p) b++;
      if (b > 0 && breaks[b - 1] >= start) start = breaks[b - 1];
      if (b < breakCount && breaks[b] < end) end = breaks[b];
    }
    if (n > 0 && start <= spans[n - 1]) {
      if (end > spans[n - 1]) {
        covered += end - spans[n - 1];
        spans[n - 1] = end;
      }
    } else {
      spans[n++] = start;
      spans[n++] = end;
      covered += end - start;
    }
  }
  return n;
}

/** ".", "!" or "?". */
const isBreak = (c: number) => c === 46 || c === 33 || c === 63;

function combine(matches: Array<{ weight: number }>): number {
  let miss = 1;
  for (const m of matches) miss *= 1 - m.weight;
  return 1 - miss;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
