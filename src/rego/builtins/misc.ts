// semver, uuid, crypto hashes/HMAC, print and the conformance helper test.sleep.

import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import semver from "semver";
import { RObject, toRegoText, type Value } from "../value.js";
import { builtinErr, str } from "./args.js";
import { registerBuiltin } from "./types.js";

// ---- semver ---------------------------------------------------------------------------

// Strict SemVer 2.0 (no leading "v"), as OPA's semver package.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

registerBuiltin("semver.is_valid", ([v]) => typeof v === "string" && SEMVER.test(v), { arity: 1 });
registerBuiltin(
  "semver.compare",
  ([a, b]) => {
    const x = str("semver.compare", 1, a);
    const y = str("semver.compare", 2, b);
    if (!SEMVER.test(x))
      throw builtinErr("semver.compare", `operand 1: string ${JSON.stringify(x)} is not a valid SemVer`);
    if (!SEMVER.test(y))
      throw builtinErr("semver.compare", `operand 2: string ${JSON.stringify(y)} is not a valid SemVer`);
    return semver.compare(x, y);
  },
  { arity: 2 },
);

// ---- uuid -----------------------------------------------------------------------------

registerBuiltin(
  "uuid.rfc4122",
  ([k], bctx) => {
    const key = `uuid.rfc4122:${str("uuid.rfc4122", 1, k)}`;
    const hit = bctx.cache.get(key);
    if (hit !== undefined) return hit;
    const u = randomUUID();
    bctx.cache.set(key, u);
    return u;
  },
  { arity: 1, nondeterministic: true },
);

const UUID_FORMS = [
  /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
  /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
  // google/uuid accepts any one-character wrapping of the 36-character form
  /^.([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12}).$/i,
  /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i,
];

registerBuiltin(
  "uuid.parse",
  ([v]) => {
    const s = str("uuid.parse", 1, v);
    let hex: string | undefined;
    for (const re of UUID_FORMS) {
      const m = re.exec(s);
      if (m) {
        hex = m.slice(1).join("").toLowerCase();
        break;
      }
    }
    if (!hex) return undefined;
    const bytes = Buffer.from(hex, "hex");
    const version = bytes[6] >> 4;
    const v8 = bytes[8];
    const variant =
      (v8 & 0xc0) === 0x80
        ? "RFC4122"
        : (v8 & 0xe0) === 0xc0
          ? "Microsoft"
          : (v8 & 0x80) === 0
            ? "Reserved"
            : "Future";
    const out = new RObject();
    const canonical = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    out.set("version", version);
    out.set("variant", variant);
    if (version === 1 || version === 2) {
      // 60-bit timestamp in 100ns intervals since 1582-10-15 → Unix nanoseconds
      const timeLow = BigInt(`0x${hex.slice(0, 8)}`);
      const timeMid = BigInt(`0x${hex.slice(8, 12)}`);
      const timeHi = BigInt(`0x${hex.slice(12, 16)}`) & 0x0fffn;
      const ts = (timeHi << 48n) | (timeMid << 32n) | timeLow;
      const ns = (ts - 122192928000000000n) * 100n;
      out.set("time", ns >= -(2n ** 53n) && ns <= 2n ** 53n ? Number(ns) : ns);
      out.set("clocksequence", ((bytes[8] & 0x3f) << 8) | bytes[9]);
      out.set("nodeid", [...bytes.subarray(10)].map((b) => b.toString(16).padStart(2, "0")).join("-"));
      out.set("macvariables", macVariables(bytes[10]));
      if (version === 2) {
        out.set("id", Number(timeLow));
        out.set(
          "domain",
          bytes[9] === 0 ? "Person" : bytes[9] === 1 ? "Group" : bytes[9] === 2 ? "Org" : `Domain${bytes[9]}`,
        );
      }
    }
    void canonical;
    return out;
  },
  { arity: 1 },
);

function macVariables(first: number): string {
  const local = first & 0x02 ? "local" : "global";
  const cast = first & 0x01 ? "multicast" : "unicast";
  return `${local}:${cast}`;
}

// ---- crypto ---------------------------------------------------------------------------

for (const [name, alg] of [
  ["crypto.md5", "md5"],
  ["crypto.sha1", "sha1"],
  ["crypto.sha256", "sha256"],
] as const) {
  registerBuiltin(
    name,
    ([v]) =>
      createHash(alg)
        .update(str(name, 1, v), "utf8")
        .digest("hex"),
    { arity: 1 },
  );
}
for (const alg of ["md5", "sha1", "sha256", "sha512"] as const) {
  const name = `crypto.hmac.${alg}`;
  registerBuiltin(
    name,
    ([m, k]) =>
      createHmac(alg, Buffer.from(str(name, 2, k), "utf8"))
        .update(str(name, 1, m), "utf8")
        .digest("hex"),
    { arity: 2 },
  );
}
registerBuiltin(
  "crypto.hmac.equal",
  ([a, b]) => {
    const x = Buffer.from(str("crypto.hmac.equal", 1, a), "utf8");
    const y = Buffer.from(str("crypto.hmac.equal", 2, b), "utf8");
    return x.length === y.length && timingSafeEqual(x, y);
  },
  { arity: 2 },
);

// ---- print / test helpers -------------------------------------------------------------

registerBuiltin(
  "print",
  (args, bctx) => {
    bctx.print(args.map((a) => (typeof a === "string" ? a : toRegoText(a))).join(" "));
    return true;
  },
  { arity: -1 },
);

// trace(note) only feeds OPA's tracer; warden has none, so it is just `true`.
registerBuiltin(
  "trace",
  ([n]) => {
    str("trace", 1, n);
    return true;
  },
  { arity: 1 },
);

registerBuiltin(
  "test.sleep",
  ([d]) => {
    str("test.sleep", 1, d);
    return null;
  },
  { arity: 1 },
);

export type { Value };
