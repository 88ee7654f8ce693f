// Executes scanner obligations on a JSON document: redact with typed placeholders, drop content
// blocks, block the call. Documents are copied, never modified in place.
import type { Finding, Obligation } from "../pipeline/types.js";
import { detectPii, type PiiOptions } from "./detectors/pii.js";
import { detectSecrets, type SecretOptions } from "./detectors/secrets.js";
import type { DetectorHit } from "./types.js";

/**
 * `{type:"redact", detectors?: ["secrets","pii"], kinds?: [...], minScore?: number}`, or with
 * `fields: ["/path", "name"]` whole fields (JSON pointers or top-level names) instead of matches.
 */
export interface RedactObligation extends Obligation {
  type: "redact";
  fields?: string[];
  detectors?: Array<"secrets" | "pii">;
  kinds?: string[];
  minScore?: number;
}

/**
 * Replaces whole fields of a JSON document with `[REDACTED:field]`. A field is a JSON pointer
 * (`/user/password`) or a top-level name (`password`); fields that do not exist are skipped.
 * Returns a copy (the input is not modified) and how many fields were replaced.
 */
export function redactFields(value: unknown, fields: readonly string[]): { value: unknown; count: number } {
  let count = 0;
  let out = value;
  for (const field of fields) {
    const path = field.startsWith("/") ? field.slice(1).split("/").map(unescapePointer) : [field];
    const replaced = replaceAt(out, path);
    if (replaced !== undefined) {
      out = replaced;
      count++;
    }
  }
  return { value: out, count };
}

/** A copy of `node` with the value at `path` replaced, or undefined when the path does not exist. */
function replaceAt(node: unknown, path: string[]): unknown {
  if (path.length === 0) return placeholder("field");
  if (node === null || typeof node !== "object") return undefined;
  const [key, ...rest] = path;
  if (Array.isArray(node)) {
    const i = /^(?:0|[1-9]\d*)$/.test(key) ? Number(key) : -1;
    if (i < 0 || i >= node.length) return undefined;
    const child = replaceAt(node[i], rest);
    if (child === undefined) return undefined;
    const copy = [...node];
    copy[i] = child;
    return copy;
  }
  if (!Object.hasOwn(node, key)) return undefined;
  const child = replaceAt((node as Record<string, unknown>)[key], rest);
  return child === undefined ? undefined : { ...(node as Record<string, unknown>), [key]: child };
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** `{type:"drop_content", detectors?: [...], kinds?: [...], minScore?: number}`: removes matching content blocks. */
export interface DropContentObligation extends Obligation {
  type: "drop_content";
  detectors?: string[];
  kinds?: string[];
  minScore?: number;
}

/** `{type:"block", reason?: string}` */
export interface BlockObligation extends Obligation {
  type: "block";
  reason?: string;
}

export interface DetectorOptions {
  secrets?: SecretOptions;
  pii?: PiiOptions;
}

export const placeholder = (kind: string) => `[REDACTED:${kind}]`;

/** Replaces secrets / PII in every string of `value`; returns the copy and how many spans were replaced. */
export function redactValue(
  value: unknown,
  obligation: Pick<RedactObligation, "detectors" | "kinds" | "minScore">,
  options: DetectorOptions = {},
): { value: unknown; count: number } {
  let count = 0;
  const detectors = new Set(obligation.detectors ?? ["secrets", "pii"]);
  const kinds = obligation.kinds ? new Set(obligation.kinds) : undefined;
  const minScore = obligation.minScore ?? 0.5;
  const redactString = (s: string): string => {
    let hits: DetectorHit[] = [];
    if (detectors.has("secrets")) hits = hits.concat(detectSecrets(s, options.secrets));
    if (detectors.has("pii")) hits = hits.concat(detectPii(s, options.pii));
    const spans = hits
      .filter(
        (h) =>
          h.start !== undefined &&
          h.end !== undefined &&
          h.score >= minScore &&
          (!kinds || kinds.has(h.kind)),
      )
      .sort((a, b) => (a.start as number) - (b.start as number));
    if (spans.length === 0) return s;
    let out = "";
    let pos = 0;
    for (const h of spans) {
      const start = h.start as number;
      if (start < pos) continue; // overlapping spans: the earlier one already covers it
      out += s.slice(pos, start) + placeholder(h.kind);
      pos = h.end as number;
      count++;
    }
    return out + s.slice(pos);
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const redacted = walk(value);
  return { value: redacted, count };
}

/**
 * Removes the content blocks of an MCP result (`{content: [...]}`) that have a matching finding
 * (finding locations are JSON pointers such as `/content/2/text`). A text block says what was removed.
 */
export function dropContent(
  result: unknown,
  findings: Finding[],
  obligation: Pick<DropContentObligation, "detectors" | "kinds" | "minScore">,
): { value: unknown; dropped: number } {
  if (
    result === null ||
    typeof result !== "object" ||
    !Array.isArray((result as { content?: unknown }).content)
  ) {
    return { value: result, dropped: 0 };
  }
  const detectors = obligation.detectors ? new Set(obligation.detectors) : undefined;
  const kinds = obligation.kinds ? new Set(obligation.kinds) : undefined;
  const minScore = obligation.minScore ?? 0;
  const reasons = new Map<number, string>();
  for (const f of findings) {
    const m = /^\/content\/(\d+)(?:\/|$)/.exec(f.location);
    if (!m || f.score < minScore) continue;
    if (detectors && !detectors.has(f.detector)) continue;
    if (kinds && !kinds.has(f.kind)) continue;
    reasons.set(Number(m[1]), f.detector);
  }
  if (reasons.size === 0) return { value: result, dropped: 0 };
  const content = (result as { content: unknown[] }).content.map((block, i) =>
    reasons.has(i) ? { type: "text", text: `[warden: content block removed (${reasons.get(i)})]` } : block,
  );
  return { value: { ...(result as object), content }, dropped: reasons.size };
}
