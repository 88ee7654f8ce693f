// Rego values.
//
// Representation (chosen for a cheap hot path — most values are plain JS primitives):
//   null            → null
//   boolean         → true / false
//   number          → JS number (floats, and integers inside ±2^53) or bigint (integers outside it).
//                     Invariant: a bigint is never inside the safe range and an integral float is
//                     never outside it (use `num()` / `normBig()` to build numbers), so `===` is
//                     number equality and a number is its own map key.
//   string          → JS string
//   array           → JS array of Values (treat as immutable once built)
//   object          → RObject (insertion-ordered Map keyed by `keyOf(value)`)
//   set             → RSet   (insertion-ordered Map keyed by `keyOf(value)`)
// Iteration order of objects/sets is insertion order; callers that need Rego's canonical order
// (output, comparison) use `sortedKeys()` / `sortedElems()`.

export type Value = null | boolean | number | bigint | string | Value[] | RObject | RSet;

/** Map key standing for a value: the primitive itself, or a tagged canonical string for composites. */
export type MapKey = null | boolean | number | bigint | string;

const ESC = "\u0000";

/** Key used in RObject/RSet maps. Primitives key as themselves (Map uses SameValueZero, so 1 ≠ "1"). */
export function keyOf(v: Value): MapKey {
  if (typeof v === "string") return v.length > 0 && v.charCodeAt(0) === 0 ? `${ESC}s${v}` : v;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return `${ESC}c${canon(v)}`;
  // cached: objects/sets are immutable once built and often reused (base data)
  if (v.keyCache === undefined) v.keyCache = `${ESC}c${canon(v)}`;
  return v.keyCache;
}

/** Canonical text of a value (deterministic; sets and objects in sorted order). Cached on objects/sets. */
export function canon(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return String(v);
    case "bigint":
      return v.toString();
    case "string":
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) s += (i ? "," : "") + canon(v[i]);
    return `${s}]`;
  }
  if (v instanceof RObject) {
    if (v.canonCache !== undefined) return v.canonCache;
    let s = "{";
    let first = true;
    for (const k of v.sortedKeys()) {
      s += `${(first ? "" : ",") + canon(k)}:${canon(v.get(k) as Value)}`;
      first = false;
    }
    v.canonCache = `${s}}`;
    return v.canonCache;
  }
  const set = v as RSet;
  if (set.canonCache !== undefined) return set.canonCache;
  let s = "set(";
  let first = true;
  for (const e of set.sortedElems()) {
    s += (first ? "" : ",") + canon(e);
    first = false;
  }
  set.canonCache = `${s})`;
  return set.canonCache;
}

export class RObject {
  /** keyOf(key) → value */
  readonly m: Map<MapKey, Value>;
  /** keyOf(key) → original key, only for keys whose map key is not the key itself (composites). */
  ck: Map<MapKey, Value> | undefined;
  canonCache: string | undefined;
  keyCache: string | undefined;
  private sortedCache: Value[] | undefined;

  constructor(m?: Map<MapKey, Value>, ck?: Map<MapKey, Value>) {
    this.m = m ?? new Map();
    this.ck = ck;
  }
  get size(): number {
    return this.m.size;
  }
  get(k: Value): Value | undefined {
    return this.m.get(keyOf(k));
  }
  /** Lookup by a string key (fast path for `x.field`). */
  getStr(k: string): Value | undefined {
    return this.m.get(k.length > 0 && k.charCodeAt(0) === 0 ? `${ESC}s${k}` : k);
  }
  has(k: Value): boolean {
    return this.m.has(keyOf(k));
  }
  /** Mutating insert: only while building a fresh object. */
  set(k: Value, v: Value): void {
    const mk = keyOf(k);
    if (mk !== k) {
      if (!this.ck) this.ck = new Map();
      this.ck.set(mk, k);
    }
    this.m.set(mk, v);
    this.canonCache = undefined;
    this.keyCache = undefined;
    this.sortedCache = undefined;
  }
  keyFor(mk: MapKey): Value {
    if (this.ck) {
      const k = this.ck.get(mk);
      if (k !== undefined) return k;
    }
    return mk;
  }
  *entries(): IterableIterator<[Value, Value]> {
    for (const [mk, v] of this.m) yield [this.keyFor(mk), v];
  }
  keys(): Value[] {
    const out: Value[] = [];
    for (const mk of this.m.keys()) out.push(this.keyFor(mk));
    return out;
  }
  sortedKeys(): Value[] {
    if (!this.sortedCache) this.sortedCache = this.keys().sort(compare);
    return this.sortedCache;
  }
}

export class RSet {
  readonly m: Map<MapKey, Value>;
  canonCache: string | undefined;
  keyCache: string | undefined;
  private sortedCache: Value[] | undefined;

  constructor(m?: Map<MapKey, Value>) {
    this.m = m ?? new Map();
  }
  get size(): number {
    return this.m.size;
  }
  has(v: Value): boolean {
    return this.m.has(keyOf(v));
  }
  /** Mutating insert: only while building a fresh set. Returns false if already present. */
  add(v: Value): boolean {
    const mk = keyOf(v);
    if (this.m.has(mk)) return false;
    this.m.set(mk, v);
    this.canonCache = undefined;
    this.keyCache = undefined;
    this.sortedCache = undefined;
    return true;
  }
  values(): IterableIterator<Value> {
    return this.m.values();
  }
  sortedElems(): Value[] {
    if (!this.sortedCache) this.sortedCache = [...this.m.values()].sort(compare);
    return this.sortedCache;
  }
}

// ---------- constructors ----------

export function makeSet(elems: Iterable<Value>): RSet {
  const s = new RSet();
  for (const e of elems) s.add(e);
  return s;
}

export function makeObject(pairs: Iterable<[Value, Value]>): RObject {
  const o = new RObject();
  for (const [k, v] of pairs) o.set(k, v);
  return o;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** Normalise a bigint: to a JS number when it is exactly representable as a safe integer. */
export function normBig(b: bigint): number | bigint {
  return b <= MAX_SAFE && b >= MIN_SAFE ? Number(b) : b;
}

/** Normalise a JS number: integral values outside the safe range become bigint. */
export function num(n: number): number | bigint {
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n);
  if (Object.is(n, -0)) return 0;
  return n;
}

export function isNumber(v: Value): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

/** Parse number text exactly (integers of any size; decimals as doubles unless integral). */
export function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    if (text.length < 16) return Number(text);
    return normBig(BigInt(text));
  }
  const n = Number(text);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    // e.g. 1e20: keep exact integer value
    const m = /^(-?)(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(text);
    if (m) {
      const digits = m[2] + (m[3] ?? "");
      const exp = Number(m[4]) - (m[3]?.length ?? 0);
      if (exp >= 0) return normBig(BigInt(m[1] + digits) * 10n ** BigInt(exp));
    }
    return BigInt(n);
  }
  return num(n);
}

// ---------- type names / order ----------

export type TypeName = "null" | "boolean" | "number" | "string" | "array" | "object" | "set";

export function typeName(v: Value): TypeName {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  return v instanceof RObject ? "object" : "set";
}

function rank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return 1;
    case "number":
    case "bigint":
      return 2;
    case "string":
      return 3;
  }
  if (Array.isArray(v)) return 4;
  return v instanceof RObject ? 5 : 6;
}

/** Rego's total order: null < boolean < number < string < array < object < set. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 1:
      return a ? 1 : -1; // a !== b
    case 2:
      // mixed number/bigint comparison is exact in JS
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 4: {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length < 0 ? -1 : x.length > y.length ? 1 : 0;
    }
    case 5: {
      const x = a as RObject;
      const y = b as RObject;
      const xk = x.sortedKeys();
      const yk = y.sortedKeys();
      const n = Math.min(xk.length, yk.length);
      for (let i = 0; i < n; i++) {
        let c = compare(xk[i], yk[i]);
        if (c !== 0) return c;
        c = compare(x.get(xk[i]) as Value, y.get(yk[i]) as Value);
        if (c !== 0) return c;
      }
      return xk.length < yk.length ? -1 : xk.length > yk.length ? 1 : 0;
    }
    default: {
      const xe = (a as RSet).sortedElems();
      const ye = (b as RSet).sortedElems();
      const n = Math.min(xe.length, ye.length);
      for (let i = 0; i < n; i++) {
        const c = compare(xe[i], ye[i]);
        if (c !== 0) return c;
      }
      return xe.length < ye.length ? -1 : xe.length > ye.length ? 1 : 0;
    }
  }
}

/** Byte-wise (UTF-8) string order, as Go compares strings. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (astral chars) sort above BMP chars >= 0xE000 in UTF-8 but below in UTF-16.
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1; // astral (surrogate) code points sort above every BMP char
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof RObject) {
    if (!(b instanceof RObject) || a.m.size !== b.m.size) return false;
    for (const [mk, v] of a.m) {
      const w = b.m.get(mk);
      if (w === undefined || !equal(v, w)) return false;
    }
    return true;
  }
  if (!(b instanceof RSet) || (a as RSet).m.size !== b.m.size) return false;
  for (const mk of (a as RSet).m.keys()) if (!b.m.has(mk)) return false;
  return true;
}

/** A 32-bit hash consistent with `equal` (for callers that want their own tables). */
export function hash(v: Value): number {
  const k = keyOf(v);
  const s = typeof k === "string" ? k : String(k);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---------- conversion ----------

/**
 * Convert parsed JSON/YAML (plain objects, arrays, Map, number, bigint, string, boolean, null)
 * to a Value. `undefined` members of objects are dropped. Throws on unsupported JS values.
 */
export function fromJS(x: unknown): Value {
  if (x === null) return null;
  switch (typeof x) {
    case "string":
    case "boolean":
      return x;
    case "number":
      if (!Number.isFinite(x)) throw new TypeError(`non-finite number ${x} is not a Rego value`);
      return num(x);
    case "bigint":
      return normBig(x);
    case "object":
      break;
    default:
      throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
  }
  if (Array.isArray(x)) {
    const out = new Array<Value>(x.length);
    for (let i = 0; i < x.length; i++) out[i] = fromJS(x[i]);
    return out;
  }
  if (x instanceof RObject || x instanceof RSet) return x;
  if (x instanceof Set) return makeSet([...x].map(fromJS));
  const o = new RObject();
  if (x instanceof Map) {
    for (const [k, v] of x) o.set(typeof k === "string" ? k : fromJS(k), fromJS(v));
    return o;
  }
  const rec = x as Record<string, unknown>;
  let nulKey = false;
  for (const k in rec) {
    const v = rec[k];
    if (v === undefined) continue;
    if (k.length > 0 && k.charCodeAt(0) === 0) nulKey = true;
    o.m.set(k, fromJS(v));
  }
  if (nulKey) {
    // rare: keys starting with NUL need the original-key side table
    const fixed = new RObject();
    for (const k in rec) if (rec[k] !== undefined) fixed.set(k, fromJS(rec[k]));
    return fixed;
  }
  return o;
}

/** Parse JSON text to a Value, keeping big integers exact. */
export function fromJSONText(text: string): Value {
  // JSON.parse loses precision beyond 2^53: re-read long integer literals from the source.
  if (!/\d{16,}/.test(text)) return fromJS(JSON.parse(text));
  const parsed = JSON.parse(text, function (this: unknown, _k, v, ctx?: { source?: string }) {
    if (typeof v === "number" && ctx?.source && /^-?\d+$/.test(ctx.source)) return BigInt(ctx.source);
    return v;
  } as (this: unknown, k: string, v: unknown) => unknown);
  return fromJS(parsed);
}

/**
 * The JSON view of a value, as OPA's ast.JSON does it: sets become arrays in canonical order,
 * non-string object keys become their compact JSON text. Stays in the Value domain.
 */
export function toJSONValue(v: Value): Value {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(toJSONValue);
  if (v instanceof RSet) return v.sortedElems().map(toJSONValue);
  const o = new RObject();
  for (const [k, x] of v.entries()) o.set(typeof k === "string" ? k : toJSONText(k), toJSONValue(x));
  return o;
}

/**
 * Plain JS view (for callers outside the engine). Objects → plain objects (non-string keys as
 * JSON text), sets → sorted arrays, integers beyond 2^53 stay bigint.
 */
export function toJS(v: Value | undefined): unknown {
  if (v === undefined || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(toJS);
  if (v instanceof RSet) return v.sortedElems().map(toJS);
  const out: Record<string, unknown> = {};
  for (const k of v.sortedKeys()) out[typeof k === "string" ? k : toJSONText(k)] = toJS(v.get(k) as Value);
  return out;
}

/** Compact JSON text (sets as sorted arrays, object keys sorted, big integers exact). */
export function toJSONText(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return formatNumber(v);
    case "bigint":
      return v.toString();
    case "string":
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(toJSONText).join(",")}]`;
  if (v instanceof RSet) return `[${v.sortedElems().map(toJSONText).join(",")}]`;
  const parts: string[] = [];
  for (const k of v.sortedKeys()) {
    const ks = typeof k === "string" ? k : toJSONText(k);
    parts.push(`${JSON.stringify(ks)}:${toJSONText(v.get(k) as Value)}`);
  }
  return `{${parts.join(",")}}`;
}

/** Number text as OPA prints it (integers without exponent, floats shortest round-trip). */
export function formatNumber(n: number | bigint): string {
  if (typeof n === "bigint") return n.toString();
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  return String(n);
}

/** Rego term text of a value (sets as `{...}`, `set()` when empty) — used in messages and print. */
export function toRegoText(v: Value): string {
  if (v === null || typeof v !== "object") return toJSONText(v);
  if (Array.isArray(v)) return `[${v.map(toRegoText).join(", ")}]`;
  if (v instanceof RSet) return v.size === 0 ? "set()" : `{${v.sortedElems().map(toRegoText).join(", ")}}`;
  return `{${v
    .sortedKeys()
    .map((k) => `${toRegoText(k)}: ${toRegoText(v.get(k) as Value)}`)
    .join(", ")}}`;
}

export const EMPTY_OBJECT: RObject = new RObject();
export const EMPTY_SET: RSet = new RSet();
