// Prompt-injection detector: scores normalised text against general attack-class rules and
// rescans payloads that were hidden by encoding (base64, hex, url-encoding, Unicode tags).
import type { Normalized } from "../normalize.js";
import type { DetectorHit, TextKind } from "../types.js";
import { INJECTION_RULES, type InjectionRule } from "./injection-rules.js";

export interface InjectionMatch {
  rule: string;
  kind: InjectionRule["kind"] | "ascii_smuggling" | "invisible_characters" | "encoded_payload";
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
        weight: Math.min(0.95, innerScore + 0.15),
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

function matchRules(text: string, kind: TextKind): InjectionMatch[] {
  const out: InjectionMatch[] = [];
  for (const rule of INJECTION_RULES) {
    const weight = rule.weight[kind];
    if (weight === undefined) continue;
    const m = rule.re.exec(text);
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
