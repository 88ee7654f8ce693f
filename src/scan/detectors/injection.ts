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
const TRIGGERS: TriggerKey[] = [...WORD_END].map(([key, wordEnd]) => ({ key, wordEnd }));
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
// More windows than this, or windows covering most of the text: one pass over the whole text.
const MAX_WINDOWS = 64;
const WHOLE_FRACTION = 0.6;

// Per-rule trigger counts of one text, reused (matchRules does not nest).
const COUNTS = new Int32Array(INJECTION_RULES.length);

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  return rulesOver(text, kind, AUTOMATON.scan(text));
}

function rulesOver(text: string, kind: TextKind, found: TriggerScan): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  const counts = COUNTS;
  counts.fill(0);
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
        const spans = windows(text.length, positions, BEFORE[i], AFTER[i], SENTENCE[i] ? found : null);
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
function nearRequired(found: TriggerScan, ids: number[], requires: number[], span: number): number[] | null {
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
function triggerHits(found: TriggerScan, ids: number[]): number[] {
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

/**
 * Merged [p - before, p + after) windows around the positions, flattened to [start, end, ...].
 * With `sentence` (the scan's breaks), each window is cut at the last break before p and the first
 * one from p on.
 */
function windows(
  length: number,
  positions: number[],
  before: number,
  after: number,
  sentence: TriggerScan | null,
): { list: number[]; covered: number } {
  positions.sort((a, b) => a - b);
  const list: number[] = [];
  let covered = 0;
  // Index of the first break at or after p (p only grows).
  let b = 0;
  for (const p of positions) {
    let start = Math.max(0, p - before);
    let end = Math.min(length, p + after);
    if (sentence !== null) {
      // Both bounds only grow with p, so the windows stay in order for the merge below.
      const { breaks, breakCount } = sentence;
      while (b < breakCount && breaks[b] < p) b++;
      if (b > 0 && breaks[b - 1] >= start) start = breaks[b - 1];
      if (b < breakCount && breaks[b] < end) end = breaks[b];
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
