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

// Trigger prefilter: one pass of one regex finds every trigger of every rule. Alternatives are
// tried longest first, and a match also counts for the triggers that are prefixes of it ("ignore
// previous" also counts as "ignore"); the scan advances one character at a time so triggers that
// start inside another are seen too. A trigger ending in "$" must end at a word boundary ("me$"
// is the word "me", not "message").
const keyOf = (t: string) => (t.endsWith("$") ? t.slice(0, -1) : t);
const ALL_TRIGGERS = [...new Set(INJECTION_RULES.flatMap((r) => r.triggers ?? []))];
const escapeRe = (t: string): string =>
  t.endsWith("$") ? `${escapeRe(t.slice(0, -1))}\\b` : t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// matched text (a trigger key) -> keys of all triggers it stands for
const ALSO = new Map<string, string[]>();
for (const t of ALL_TRIGGERS) {
  const k = keyOf(t);
  const covered = ALL_TRIGGERS.filter((u) => {
    const uk = keyOf(u);
    if (!k.startsWith(uk)) return false;
    return !u.endsWith("$") || uk.length === k.length || !/\w/.test(k[uk.length]);
  }).map(keyOf);
  ALSO.set(k, [...new Set([...(ALSO.get(k) ?? []), ...covered])]);
}
const byLength = (a: string, b: string) => keyOf(b).length - keyOf(a).length;
const WORD_TRIGGERS = ALL_TRIGGERS.filter((t) => /^\w/.test(t)).sort(byLength);
const SYMBOL_TRIGGERS = ALL_TRIGGERS.filter((t) => !/^\w/.test(t)).sort(byLength);
// Word triggers start at a word boundary ("dan" must not fire inside "abundant"); the symbol
// group sits behind a one-character lookahead so most positions are rejected at once.
const TRIGGER_RE = new RegExp(
  `\\b(?:${WORD_TRIGGERS.map(escapeRe).join("|")})|(?=[${[...new Set(SYMBOL_TRIGGERS.map((t) => t[0]))]
    .map((c) => (c === "-" ? "\\-" : escapeRe(c)))
    .join("")}])(?:${SYMBOL_TRIGGERS.map(escapeRe).join("|")})`,
  "g",
);
// Rules that look at line / segment starts (^): their windows start at a line start.
const ANCHORED = INJECTION_RULES.map((r) => /(?:^|[^\\[])\^/.test(r.re.source));
const BEFORE = 350;
const AFTER = 750;
const MAX_WINDOWS = 64;

function triggerPositions(text: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  TRIGGER_RE.lastIndex = 0;
  for (let m = TRIGGER_RE.exec(text); m !== null; m = TRIGGER_RE.exec(text)) {
    for (const key of ALSO.get(m[0]) ?? [m[0]]) {
      const list = found.get(key);
      if (list) list.push(m.index);
      else found.set(key, [m.index]);
    }
    TRIGGER_RE.lastIndex = m.index + 1;
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

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  const found = triggerPositions(text);
  const whole = text.length <= BEFORE + AFTER;
  for (let i = 0; i < INJECTION_RULES.length; i++) {
    const rule = INJECTION_RULES[i];
    const weight = rule.weight[kind];
    if (weight === undefined) continue;
    const keys = RULE_KEYS[i];
    let m: RegExpExecArray | null = null;
    if (!keys) {
      m = rule.re.exec(text);
    } else {
      let count = 0;
      for (const k of keys) count += found.get(k)?.length ?? 0;
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
