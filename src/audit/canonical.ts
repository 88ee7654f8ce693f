// Canonical JSON (sorted object keys, JSON.stringify scalars, undefined members dropped) so the
// writer and the verifier hash exactly the same bytes whatever order a serializer used.

// `"key":` prefixes: the same few dozen keys recur on every record, quoting them once saves work.
const KEY_PREFIX = new Map<string, string>();
const KEY_PREFIX_MAX = 2048;

function keyPrefix(k: string): string {
  let p = KEY_PREFIX.get(k);
  if (p === undefined) {
    p = `${JSON.stringify(k)}:`;
    if (KEY_PREFIX.size < KEY_PREFIX_MAX) KEY_PREFIX.set(k, p);
  }
  return p;
}

/**
 * Whether JSON.stringify(value) already is the canonical text: every object is a plain object
 * (or array) whose own keys come out sorted and none has toJSON, with no symbol values. Cheaper
 * than building the text in JavaScript; records and arguments built in key order pass.
 */
function stringifiesCanonically(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return typeof value !== "symbol";
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!stringifiesCanonically(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const obj = value as Record<string, unknown>;
  if (typeof obj.toJSON === "function") return false;
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0 && !((keys[i - 1] as string) < k)) return false;
    if (!stringifiesCanonically(obj[k], depth + 1)) return false;
  }
  return true;
}

export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === "object" && stringifiesCanonically(value, 0))
    return JSON.stringify(value);
  return buildCanonical(value);
}

/** The canonical text built member by member (keys sorted); members that pass the check are stringified whole. */
function buildCanonical(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") {
    const s = JSON.stringify(value);
    return s === undefined ? "null" : s;
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      const item = value[i];
      out += item === undefined || typeof item === "function" ? "null" : canonicalJson(item);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = obj[k];
    if (v === undefined || typeof v === "function") continue;
    if (out.length > 1) out += ",";
    out += keyPrefix(k) + canonicalJson(v);
  }
  return `${out}}`;
}
