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
// with [a-z0-9_]) are looked up only at word starts ("dan" must not fire inside "abundant"), in
// tables keyed by the first one, two or three characters, so a word costs a few typed-array reads
// instead of a regex alternation over hundreds of literals. Symbol triggers ("<|", "![") are
// looked up at every character that can start one. Every trigger that starts at a position is
// recorded, so "ignore previous" also counts as "ignore". A trigger ending in "$" must end at a
// word boundary ("me$" is the word "me", not "message").
const keyOf = (t: string) => (t.endsWith("$") ? t.slice(0, -1) : t);

interface Trigger {
  /** Index into TRIGGERS: positions are filed per id, not per string key. */
  id: number;
  key: string;
  /** Must be followed by a non-word character (or the end). */
  wordEnd: boolean;
  /** Code of the 4th character (-1 if shorter) and of the last one: cheap rejects before startsWith. */
  c3: number;
  last: number;
}
const isWordCode = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
const WORD_CODE = new Uint8Array(128);
for (let c = 0; c < 128; c++) WORD_CODE[c] = isWordCode(c) ? 1 : 0;

// One entry per key; the word-end condition holds only if every spelling of the key asks for it.
const WORD_END = new Map<string, boolean>();
for (const raw of INJECTION_RULES.flatMap((r) => [...(r.triggers ?? []), ...(r.requires ?? [])]))
  WORD_END.set(keyOf(raw), (WORD_END.get(keyOf(raw)) ?? true) && raw.endsWith("$"));
const TRIGGERS: Trigger[] = [...WORD_END].map(([key, wordEnd], id) => ({
  id,
  key,
  wordEnd,
  c3: key.length > 3 ? key.charCodeAt(3) : -1,
  last: key.charCodeAt(key.length - 1),
}));
const TRIGGER_ID = new Map(TRIGGERS.map((t) => [t.key, t.id]));

// Trigger lists, and typed tables of list numbers (0 = none) so that a miss, the common case, is
// one typed-array read: word triggers by key length 1 -> BY1[c0], 2 -> BY2[c0*128+c1],
// >= 3 -> BY3[(c0*128+c1)*128+c2]; symbol triggers by first character (non-ASCII in a map).
// BY3 is two-level (ROW3[c0*128+c1] -> a row of 128 in BY3) so the table stays small enough for
// the cache: a flat 128^3 table costs a cache miss per word.
const LISTS: Trigger[][] = [[]];
const BY1 = new Int32Array(128);
const BY2 = new Int32Array(128 * 128);
const ROW3 = new Int32Array(128 * 128);
const rowPairs = new Set<number>();
const SYM_ASCII = new Int32Array(128);
const SYM_OTHER = new Map<number, number>();
const put = (table: Int32Array | Map<number, number>, i: number, t: Trigger) => {
  let list = table instanceof Map ? (table.get(i) ?? 0) : table[i];
  if (list === 0) {
    list = LISTS.push([]) - 1;
    if (table instanceof Map) table.set(i, list);
    else table[i] = list;
  }
  LISTS[list].push(t);
};
for (const { key } of TRIGGERS) {
  const c1 = key.charCodeAt(1);
  const c2 = key.charCodeAt(2);
  if (isWordCode(key.charCodeAt(0)) && key.length >= 3 && c1 < 128 && c2 < 128)
    rowPairs.add(key.charCodeAt(0) * 128 + c1);
}
const BY3 = new Int32Array(128 * (rowPairs.size + 1));
[...rowPairs].forEach((k2, row) => {
  ROW3[k2] = (row + 1) * 128;
});
for (const t of TRIGGERS) {
  const { key } = t;
  const c0 = key.charCodeAt(0);
  const c1 = key.charCodeAt(1);
  const c2 = key.charCodeAt(2);
  if (c0 >= 128) put(SYM_OTHER, c0, t);
  else if (WORD_CODE[c0] !== 1) put(SYM_ASCII, c0, t);
  else if (key.length === 1) put(BY1, c0, t);
  else if (key.length === 2 || c1 >= 128 || c2 >= 128) put(BY2, c0 * 128 + (c1 & 127), t);
  else put(BY3, ROW3[c0 * 128 + c1] + c2, t);
}

/** Trigger positions of one text: `at[id]` lists where trigger `id` starts; `ids` those found. */
interface Found {
  ids: number[];
  at: Array<number[] | undefined>;
}

function record(found: Found, text: string, at: number, list: Trigger[]): void {
  for (const t of list) {
    if (t.c3 >= 0 && text.charCodeAt(at + 3) !== t.c3) continue;
    if (text.charCodeAt(at + t.key.length - 1) !== t.last || !text.startsWith(t.key, at)) continue;
    if (t.wordEnd) {
      const next = text.charCodeAt(at + t.key.length);
      if (next < 128 && WORD_CODE[next] === 1) continue;
    }
    const hits = found.at[t.id];
    if (hits) hits.push(at);
    else {
      found.at[t.id] = [at];
      found.ids.push(t.id);
    }
  }
}

// Whether any word trigger starts with the two characters c0 c1 (index c0*128+c1, c1 & 127 as in
// BY2): most word starts are rejected with this one read.
const ANY2 = new Uint8Array(128 * 128);
for (let c0 = 0; c0 < 128; c0++)
  for (let c1 = 0; c1 < 128; c1++) {
    const k2 = c0 * 128 + c1;
    if (BY1[c0] !== 0 || BY2[k2] !== 0 || ROW3[k2] !== 0) ANY2[k2] = 1;
  }

// Character classes for the trigger pass, one table read per character: 1 = word character,
// 2 = can start a symbol trigger, 0 = anything else.
const CHAR_CLASS = new Uint8Array(65536);
for (let c = 0; c < 128; c++) if (WORD_CODE[c] === 1) CHAR_CLASS[c] = 1;
for (let c = 0; c < 128; c++) if (SYM_ASCII[c] !== 0) CHAR_CLASS[c] = 2;
for (const c of SYM_OTHER.keys()) CHAR_CLASS[c] = 2;

// Reused between texts (cleared through `ids`): a fresh array per text costs more in GC than the
// pass itself on short strings. matchRules does not nest, so one is enough.
const SHARED_AT: Array<number[] | undefined> = new Array(TRIGGERS.length).fill(undefined);

function triggerPositions(text: string): Found {
  const found: Found = { ids: [], at: SHARED_AT };
  const n = text.length;
  let prevWord = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const cls = CHAR_CLASS[c];
    if (cls === 1) {
      if (prevWord) continue;
      prevWord = true;
      // Past the end, charCodeAt is NaN and NaN & 0xffff is 0: no key holds a NUL, so no list.
      const c1 = text.charCodeAt(i + 1) & 0xffff;
      const k2 = c * 128 + (c1 & 127);
      if (ANY2[k2] === 0) continue;
      const l1 = BY1[c];
      if (l1 !== 0) record(found, text, i, LISTS[l1]);
      const l2 = BY2[k2];
      if (l2 !== 0) record(found, text, i, LISTS[l2]);
      const c2 = text.charCodeAt(i + 2) & 0xffff;
      const row = ROW3[k2];
      if (row !== 0 && c1 < 128 && c2 < 128) {
        const l3 = BY3[row + c2];
        if (l3 !== 0) record(found, text, i, LISTS[l3]);
      }
      continue;
    }
    prevWord = false;
    if (cls === 2) {
      const sym = c < 128 ? SYM_ASCII[c] : (SYM_OTHER.get(c) ?? 0);
      if (sym !== 0) record(found, text, i, LISTS[sym]);
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
      m = rule.re.exec(text);
    } else {
      const count = counts[i];
      if (count === 0) continue;
      const requires = RULE_REQUIRES[i];
      if (requires && !requires.some((id) => found.at[id] !== undefined)) continue;
      if (count > MAX_WINDOWS || text.length <= BEFORE[i] + AFTER[i]) {
        m = rule.re.exec(text);
      } else {
        const positions: number[] = [];
        for (const id of ids) {
          const hits = found.at[id];
          if (hits) for (const p of hits) positions.push(p);
        }
        const spans = windows(positions, BEFORE[i], AFTER[i], text.length);
        if (spans.covered > WHOLE_FRACTION * text.length) m = rule.re.exec(text);
        else
          for (let w = 0; w < spans.list.length && !m; w += 2) {
            const start = spans.list[w];
            // Start the window at a word boundary so \b in the rule means what it says; rules
            // anchored with ^ get a window that starts at a line start, where ^ is true anyway.
            // End it at a word boundary too, or a word cut in two could end a match.
            const ws = start === 0 ? 0 : text.lastIndexOf(ANCHORED[i] ? "\n" : " ", start) + 1;
            let we = spans.list[w + 1];
            while (we < text.length && isWordCode(text.charCodeAt(we))) we++;
            m = rule.re.exec(text.slice(ws, we));
          }
      }
    }
    if (m)
      out.push({ rule: rule.id, kind: rule.kind, weight, evidence: m[0].trim().slice(0, EVIDENCE_CHARS) });
  }
  return out;
}

/** Merged [p - before, p + after) windows around the positions, flattened to [start, end, ...]. */
function windows(
  positions: number[],
  before: number,
  after: number,
  length: number,
): { list: number[]; covered: number } {
  positions.sort((a, b) => a - b);
  const list: number[] = [];
  let covered = 0;
  for (const p of positions) {
    const start = Math.max(0, p - before);
    const end = Math.min(length, p + after);
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

function combine(matches: Array<{ weight: number }>): number {
  let miss = 1;
  for (const m of matches) miss *= 1 - m.weight;
  return 1 - miss;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
