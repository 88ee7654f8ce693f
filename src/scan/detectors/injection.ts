// Prompt-injection detector: scores normalised text against general attack-class rules and
// rescans payloads that were hidden by encoding (base64, hex, url-encoding, Unicode tags).
import type { Normalized } from "../normalize.js";
import type { DetectorHit, TextKind } from "../types.js";
import { INJECTION_RULES, type InjectionRule } from "./injection-rules.js";
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
// tables keyed by the first one, two or three characters, so a word costs a few array reads
// instead of a regex alternation over hundreds of literals. Symbol triggers ("<|", "![") are
// looked up at every character that can start one. Every trigger that starts at a position is
// recorded, so "ignore previous" also counts as "ignore". A trigger ending in "$" must end at a
// word boundary ("me$" is the word "me", not "message").
const keyOf = (t: string) => (t.endsWith("$") ? t.slice(0, -1) : t);
const ALL_TRIGGERS = [...new Set(INJECTION_RULES.flatMap((r) => r.triggers ?? []))];

interface Trigger {
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

// Word triggers by prefix: key length 1 -> BY1[c0], 2 -> BY2[c0*128+c1], >= 3 -> BY3[c0*128+c1][c2]
// (plain arrays: a word start costs a few array reads).
const BY1: Array<Trigger[] | undefined> = new Array(128);
const BY2: Array<Trigger[] | undefined> = new Array(128 * 128);
const BY3: Array<Array<Trigger[] | undefined> | undefined> = new Array(128 * 128);
// Symbol triggers by first character (ASCII table; non-ASCII first characters in a map).
const SYM_ASCII: Array<Trigger[] | undefined> = new Array(128);
const SYM_OTHER = new Map<number, Trigger[]>();
const put = (table: Array<Trigger[] | undefined>, i: number, t: Trigger) => {
  const list = table[i];
  if (list) list.push(t);
  else table[i] = [t];
};
// One entry per key; the word-end condition holds only if every spelling of the key asks for it.
const WORD_END = new Map<string, boolean>();
for (const raw of ALL_TRIGGERS)
  WORD_END.set(keyOf(raw), (WORD_END.get(keyOf(raw)) ?? true) && raw.endsWith("$"));
for (const [key, wordEnd] of WORD_END) {
  const t: Trigger = {
    key,
    wordEnd,
    c3: key.length > 3 ? key.charCodeAt(3) : -1,
    last: key.charCodeAt(key.length - 1),
  };
  const c0 = key.charCodeAt(0);
  const c1 = key.charCodeAt(1);
  const c2 = key.charCodeAt(2);
  if (c0 >= 128) {
    const list = SYM_OTHER.get(c0);
    if (list) list.push(t);
    else SYM_OTHER.set(c0, [t]);
  } else if (WORD_CODE[c0] !== 1) put(SYM_ASCII, c0, t);
  else if (key.length === 1) put(BY1, c0, t);
  else if (key.length === 2 || c1 >= 128 || c2 >= 128) put(BY2, c0 * 128 + (c1 & 127), t);
  else {
    const k2 = c0 * 128 + c1;
    BY3[k2] ??= new Array(128);
    put(BY3[k2], c2, t);
  }
}

function record(found: Map<string, number[]>, text: string, at: number, list: Trigger[]): void {
  for (const t of list) {
    if (t.c3 >= 0 && text.charCodeAt(at + 3) !== t.c3) continue;
    if (text.charCodeAt(at + t.key.length - 1) !== t.last || !text.startsWith(t.key, at)) continue;
    if (t.wordEnd) {
      const next = text.charCodeAt(at + t.key.length);
      if (next < 128 && WORD_CODE[next] === 1) continue;
    }
    const hits = found.get(t.key);
    if (hits) hits.push(at);
    else found.set(t.key, [at]);
  }
}

// Rules that look at line / segment starts (^): their windows start at a line start.
const ANCHORED = INJECTION_RULES.map((r) => /(?:^|[^\\[])\^/.test(r.re.source));
const BEFORE = 350;
const AFTER = 750;
const MAX_WINDOWS = 64;

// Character classes for the trigger pass, one table read per character: 1 = word character,
// 2 = can start a symbol trigger, 0 = anything else.
const CHAR_CLASS = new Uint8Array(65536);
for (let c = 0; c < 128; c++) if (WORD_CODE[c] === 1) CHAR_CLASS[c] = 1;
for (let c = 0; c < 128; c++) if (SYM_ASCII[c] !== undefined) CHAR_CLASS[c] = 2;
for (const c of SYM_OTHER.keys()) CHAR_CLASS[c] = 2;

function triggerPositions(text: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  const n = text.length;
  let prevWord = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const cls = CHAR_CLASS[c];
    if (cls === 1) {
      if (prevWord) continue;
      prevWord = true;
      const l1 = BY1[c];
      if (l1 !== undefined) record(found, text, i, l1);
      if (i + 1 < n) {
        const c1 = text.charCodeAt(i + 1);
        const k2 = c * 128 + (c1 & 127);
        const l2 = BY2[k2];
        if (l2 !== undefined) record(found, text, i, l2);
        const t3 = c1 < 128 ? BY3[k2] : undefined;
        if (t3 !== undefined && i + 2 < n) {
          const c2 = text.charCodeAt(i + 2);
          if (c2 < 128) {
            const l3 = t3[c2];
            if (l3 !== undefined) record(found, text, i, l3);
          }
        }
      }
      continue;
    }
    prevWord = false;
    if (cls === 2) {
      const sym = c < 128 ? SYM_ASCII[c] : SYM_OTHER.get(c);
      if (sym !== undefined) record(found, text, i, sym);
    }
  }
  return found;
}

/** Merged [start, end) windows around the given positions. */
function windows(positions: number[], length: number): Array<[number, number]> {
  positions.sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const p of positions) {
    const start = Math.max(0, p - BEFORE);
    const end = Math.min(length, p + AFTER);
    const last = out[out.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

// Keys under which triggerPositions() files each rule's triggers ("me$" is found as "me").
const RULE_KEYS = INJECTION_RULES.map((r) => (r.triggers ? [...new Set(r.triggers.map(keyOf))] : null));
// The other way round: trigger key -> indices of the rules it belongs to. A text holds few distinct
// triggers, so counting per rule from the triggers found is cheaper than asking every rule.
const KEY_RULES = new Map<string, number[]>();
RULE_KEYS.forEach((keys, i) => {
  for (const k of keys ?? []) {
    const list = KEY_RULES.get(k);
    if (list) list.push(i);
    else KEY_RULES.set(k, [i]);
  }
});

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  const found = triggerPositions(text);
  const whole = text.length <= BEFORE + AFTER;
  const counts = new Int32Array(INJECTION_RULES.length);
  for (const [k, hits] of found) for (const i of KEY_RULES.get(k) ?? []) counts[i] += hits.length;
  for (let i = 0; i < INJECTION_RULES.length; i++) {
    const rule = INJECTION_RULES[i];
    const weight = rule.weight[kind];
    if (weight === undefined) continue;
    const keys = RULE_KEYS[i];
    let m: RegExpExecArray | null = null;
    if (!keys) {
      m = rule.re.exec(text);
    } else {
      const count = counts[i];
      if (count === 0) continue;
      // Anchored rules, short texts and texts with many trigger hits: one pass over the text.
      if (whole || count > MAX_WINDOWS) {
        m = rule.re.exec(text);
      } else {
        const positions: number[] = [];
        for (const k of keys) {
          const hits = found.get(k);
          if (hits) for (const p of hits) positions.push(p);
        }
        for (const [start, end] of windows(positions, text.length)) {
          // Start the window at a word boundary so \b in the rule means what it says; rules
          // anchored with ^ get a window that starts at a line start, where ^ is true anyway.
          const ws = start === 0 ? 0 : text.lastIndexOf(ANCHORED[i] ? "\n" : " ", start) + 1;
          m = rule.re.exec(text.slice(ws, end));
          if (m) break;
        }
      }
    }
    if (m)
      out.push({ rule: rule.id, kind: rule.kind, weight, evidence: m[0].trim().slice(0, EVIDENCE_CHARS) });
  }
  return out;
}

function combine(matches: Array<{ weight: number }>): number {
  let miss = 1;
  for (const m of matches) miss *= 1 - m.weight;
  return 1 - miss;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
