// One pass over a JSON document (tool arguments or a tool result): walks every string with its
// JSON-pointer location, runs the enabled detectors on it, and stops at a byte budget.
import type { Finding } from "../pipeline/types.js";
import { type ScanConfig, scanConfigSchema } from "./config.js";
import { detectInjection } from "./detectors/injection.js";
import { detectPii } from "./detectors/pii.js";
import { detectSecrets } from "./detectors/secrets.js";
import { normalize } from "./normalize.js";
import { codeUnits, RUN_MIN, type TextFacts, tokenRuns } from "./runs.js";
import type { DetectorHit, TextKind } from "./types.js";

export interface LocatedHit extends DetectorHit {
  location: string;
}

export interface ScanResult {
  hits: LocatedHit[];
  bytesScanned: number;
  truncated: boolean;
  /** Hits beyond MAX_HITS (not listed; policy sees a `scanner/too_many_findings` finding). */
  hitsDropped: number;
}

/** Findings kept per document: enough for policy, bounded for pathological input. */
export const MAX_HITS = 1000;

const DEFAULT_CONFIG = scanConfigSchema.parse({});
// The buffer scanText writes each text's code units into.
const UNITS = { buffer: Buffer.alloc(2 * 8192) };

/** Runs the enabled detectors over one string. */
export function scanText(text: string, kind: TextKind, config: ScanConfig = DEFAULT_CONFIG): DetectorHit[] {
  const d = config.detectors;
  const hits: DetectorHit[] = [];
  // The candidates are computed once and shared: token runs (payload decoding, secret gates). One
  // object shape for every call.
  // The code units in a typed array are read by the token-run pass, the secret gates and PII's
  // candidate pass; their buffer is reused from call to call (nothing keeps them past this call).
  const units = codeUnits(text, UNITS);
  const runs = tokenRuns(text, RUN_MIN, units);
  const facts: TextFacts = { units, runs };
  if (d.injection.enabled) {
    const normalized = normalize(text, { decode: d.injection.decodePayloads, runs });
    for (const h of detectInjection(normalized, kind, d.injection.threshold[kind])) hits.push(h);
  }
  if (d.secrets.enabled) {
    for (const h of detectSecrets(text, d.secrets, facts)) if (h.score >= d.secrets.minScore) hits.push(h);
  }
  if (d.pii.enabled) {
    for (const h of detectPii(text, d.pii, facts)) if (h.score >= d.pii.minScore) hits.push(h);
  }
  return hits;
}

/** Walks a JSON value depth-first; strings longer than the remaining budget are cut. */
export function scanValue(value: unknown, kind: TextKind, config: ScanConfig = DEFAULT_CONFIG): ScanResult {
  const result: ScanResult = { hits: [], bytesScanned: 0, truncated: false, hitsDropped: 0 };
  const budget = config.maxBytes;
  const stack: Array<[unknown, string]> = [[value, ""]];
  while (stack.length > 0) {
    const [node, pointer] = stack.pop() as [unknown, string];
    if (typeof node === "string") {
      if (node.length === 0) continue;
      const remaining = budget - result.bytesScanned;
      if (remaining <= 0) {
        result.truncated = true;
        break;
      }
      const text = node.length > remaining ? node.slice(0, remaining) : node;
      if (text.length < node.length) result.truncated = true;
      result.bytesScanned += text.length;
      for (const h of scanText(text, kind, config)) {
        if (result.hits.length >= MAX_HITS) {
          result.hitsDropped++;
          continue;
        }
        result.hits.push({ ...h, location: pointer });
      }
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${pointer}/${i}`]);
    } else if (node !== null && typeof node === "object") {
      const entries = Object.entries(node as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i];
        // Keys can carry text too (a model may read them): scan them as part of the document.
        stack.push([v, `${pointer}/${escapePointer(k)}`]);
        if (k.length > 24) stack.push([k, `${pointer}/${escapePointer(k)}#key`]);
      }
    }
  }
  return result;
}

/** Scanner hits as pipeline findings. */
export function toFindings(result: ScanResult, direction: Finding["direction"]): Finding[] {
  const findings: Finding[] = result.hits.map((h) => ({
    detector: h.detector,
    kind: h.kind,
    score: h.score,
    location: h.location,
    direction,
    evidence: h.evidence,
  }));
  if (result.hitsDropped > 0) {
    findings.push({ detector: "scanner", kind: "too_many_findings", score: 1, location: "", direction });
  }
  if (result.truncated) {
    findings.push({ detector: "scanner", kind: "budget_exceeded", score: 1, location: "", direction });
  }
  return findings;
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}
