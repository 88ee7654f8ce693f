// net.cidr_* builtins with Go's net package parsing and printing (IPv4 and IPv6 as bigints).

import { RObject, RSet, type Value } from "../value.js";
import { builtinErr, elems, str } from "./args.js";
import { registerBuiltin } from "./types.js";

interface Net {
  v6: boolean;
  addr: bigint; // network address (masked)
  bits: number; // prefix length
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined;
  let tail4: bigint | undefined;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = parseIPv4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = text.split("::");
  if (dbl.length > 2) return undefined;
  const head = dbl[0] === "" ? [] : dbl[0].split(":");
  const tail = dbl.length === 2 ? (dbl[1] === "" ? [] : dbl[1].split(":")) : [];
  const groups =
    dbl.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail] : head;
  if (groups.length !== 8 || (dbl.length === 2 && head.length + tail.length > 7)) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4;
  return v;
}

/** An IP address: IPv4 (also when written v4-mapped) or IPv6. */
function parseIP(s: string): { v6: boolean; addr: bigint } | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { v6: false, addr: v4 };
  const v6 = parseIPv6(s);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, addr: v6 & 0xffffffffn };
  return { v6: true, addr: v6 };
}

function width(v6: boolean): number {
  return v6 ? 128 : 32;
}

function mask(v6: boolean, bits: number): bigint {
  const w = width(v6);
  return ((1n << BigInt(w)) - 1n) ^ ((1n << BigInt(w - bits)) - 1n);
}

function parseCIDR(s: string): Net | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const b = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(b)) return undefined;
  const bits = Number(b);
  if (bits > width(ip.v6)) return undefined;
  return { v6: ip.v6, addr: ip.addr & mask(ip.v6, bits), bits };
}

/** A CIDR, or a plain IP as a single-address network. */
function parseCIDROrIP(s: string): Net | undefined {
  const n = parseCIDR(s);
  if (n) return n;
  const ip = parseIP(s);
  return ip ? { v6: ip.v6, addr: ip.addr, bits: width(ip.v6) } : undefined;
}

export function formatIP(v6: boolean, addr: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // longest run of zero groups (length >= 2), first one wins
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function formatNet(n: Net): string {
  return `${formatIP(n.v6, n.addr)}/${n.bits}`;
}

function contains(a: Net, b: Net): boolean {
  if (a.v6 !== b.v6 || a.bits > b.bits) return false;
  return (b.addr & mask(a.v6, a.bits)) === a.addr;
}

function cidrArg(name: string, pos: number, v: Value): Net {
  const s = str(name, pos, v);
  const n = parseCIDR(s);
  if (!n) throw builtinErr(name, `invalid CIDR address: ${s}`);
  return n;
}

registerBuiltin(
  "net.cidr_contains",
  ([a, b]) => {
    const outer = cidrArg("net.cidr_contains", 1, a);
    const s = str("net.cidr_contains", 2, b);
    const inner = parseCIDROrIP(s);
    if (!inner) {
      throw builtinErr(
        "net.cidr_contains",
        `not a valid textual representation of an IP address or CIDR: ${s}`,
      );
    }
    return contains(outer, inner);
  },
  { arity: 2, aliases: ["net.cidr_overlap"] },
);

registerBuiltin(
  "net.cidr_intersects",
  ([a, b]) => {
    const x = cidrArg("net.cidr_intersects", 1, a);
    const y = cidrArg("net.cidr_intersects", 2, b);
    return contains(x, y) || contains(y, x);
  },
  { arity: 2 },
);

registerBuiltin("net.cidr_is_valid", ([a]) => typeof a === "string" && parseCIDR(a) !== undefined, {
  arity: 1,
});

const MAX_EXPAND = 1n << 20n;
registerBuiltin(
  "net.cidr_expand",
  ([a]) => {
    const n = cidrArg("net.cidr_expand", 1, a);
    const size = 1n << BigInt(width(n.v6) - n.bits);
    if (size > MAX_EXPAND) throw builtinErr("net.cidr_expand", "CIDR too large to expand");
    const out = new RSet();
    for (let i = 0n; i < size; i++) out.add(formatIP(n.v6, n.addr + i));
    return out;
  },
  { arity: 1 },
);

/** Go's classful default mask for IPv4 addresses given without a prefix. */
function defaultBits(addr: bigint): number {
  const first = Number(addr >> 24n);
  return first < 0x80 ? 8 : first < 0xc0 ? 16 : 24;
}

interface Range {
  v6: boolean;
  first: bigint;
  last: bigint;
  /** the input network's text when the range was not merged with another */
  text?: string;
}

/** The fewest aligned CIDR blocks covering [first, last]. */
function rangeToCIDRs(v6: boolean, first: bigint, last: bigint): string[] {
  const w = width(v6);
  const out: string[] = [];
  let cur = first;
  while (cur <= last) {
    let bits = w;
    // grow the block while it stays aligned and inside the range
    while (bits > 0) {
      const size = 1n << BigInt(w - bits + 1);
      if (cur % size !== 0n || cur + size - 1n > last) break;
      bits--;
    }
    out.push(`${formatIP(v6, cur)}/${bits}`);
    cur += 1n << BigInt(w - bits);
  }
  return out;
}

/**
 * OPA's net.cidr_merge: ranges sorted by (last, first), neighbours that touch or overlap are
 * joined; joined ranges become minimal CIDR lists, untouched inputs keep their own text.
 */
export function mergeRanges(input: Range[]): string[] {
  const family = (r: Range) => (r.v6 ? 1n << 200n : 0n); // keeps IPv4 and IPv6 apart when sorting
  const ranges = [...input].sort((a, b) => {
    const la = a.last + family(a);
    const lb = b.last + family(b);
    if (la !== lb) return la < lb ? -1 : 1;
    const fa = a.first + family(a);
    const fb = b.first + family(b);
    return fa < fb ? -1 : fa > fb ? 1 : 0;
  });
  for (let i = ranges.length - 1; i > 0; i--) {
    const cur = ranges[i];
    const prev = ranges[i - 1];
    if (cur.v6 !== prev.v6) continue;
    if (cur.first - 1n <= prev.last) {
      let first = cur.first;
      if (prev.first < first) first = prev.first;
      ranges[i - 1] = { v6: cur.v6, first, last: cur.last };
      ranges.splice(i, 1);
    }
  }
  return ranges.flatMap((r) => (r.text !== undefined ? [r.text] : rangeToCIDRs(r.v6, r.first, r.last)));
}

registerBuiltin(
  "net.cidr_merge",
  ([a]) => {
    const name = "net.cidr_merge";
    if (!Array.isArray(a) && !(a instanceof RSet)) throw builtinErr(name, "operand must be an array");
    const ranges: Range[] = [];
    for (const e of elems(a)) {
      if (typeof e !== "string") throw builtinErr(name, "element must be string");
      const ip = parseIP(e);
      if (ip) {
        if (ip.v6) throw builtinErr(name, "IPv6 invalid: needs prefix length");
        // Go pairs a bare IPv4 address with its classful default mask, unmasked.
        const bits = defaultBits(ip.addr);
        const first = ip.addr & mask(false, bits);
        ranges.push({ v6: false, first, last: first + (1n << BigInt(32 - bits)) - 1n, text: `${e}/${bits}` });
        continue;
      }
      const n = parseCIDR(e);
      if (!n) throw builtinErr(name, `invalid CIDR address: ${e}`);
      const size = 1n << BigInt(width(n.v6) - n.bits);
      ranges.push({ v6: n.v6, first: n.addr, last: n.addr + size - 1n, text: formatNet(n) });
    }
    const out = new RSet();
    for (const c of mergeRanges(ranges)) out.add(c);
    return out;
  },
  { arity: 1 },
);

/** (key, cidr-or-ip text) pairs of a contains_matches operand. */
function matchEntries(name: string, pos: number, v: Value): [Value, string][] {
  const entry = (k: Value, e: Value): [Value, string] => {
    if (typeof e === "string") return [k, e];
    if (Array.isArray(e) && e.length > 0 && typeof e[0] === "string") return [k, e[0]];
    throw builtinErr(name, `operand ${pos}: element must be string or non-empty array`);
  };
  if (typeof v === "string") return [[v, v]];
  if (Array.isArray(v)) return v.map((e, i) => entry(i, e));
  if (v instanceof RSet) return v.sortedElems().map((e) => entry(e, e));
  if (v instanceof RObject) return v.sortedKeys().map((k) => entry(k, v.get(k) as Value));
  return []; // OPA iterates nothing for other operand types
}

registerBuiltin(
  "net.cidr_contains_matches",
  ([a, b]) => {
    const name = "net.cidr_contains_matches";
    const cidrs = matchEntries(name, 1, a);
    const items = matchEntries(name, 2, b);
    const out = new RSet();
    for (const [k1, c] of cidrs) {
      const net = parseCIDR(c);
      if (!net) throw builtinErr(name, `invalid CIDR address: ${c}`);
      for (const [k2, x] of items) {
        const inner = parseCIDROrIP(x);
        if (!inner)
          throw builtinErr(name, `not a valid textual representation of an IP address or CIDR: ${x}`);
        if (contains(net, inner)) out.add([k1, k2]);
      }
    }
    return out;
  },
  { arity: 2 },
);
