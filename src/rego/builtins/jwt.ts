// io.jwt.* builtins. Verification is synchronous (node:crypto) because builtins are sync;
// a bad signature is `false`, a malformed token or key is a builtin error, as in OPA.

import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  timingSafeEqual,
  X509Certificate,
} from "node:crypto";
import { fromJSONText, RObject, type Value } from "../value.js";
import { builtinErr, obj, str } from "./args.js";
import { goJSON } from "./encoding.js";
import { type BuiltinContext, registerBuiltin } from "./types.js";

class JWTError extends Error {}

interface Decoded {
  header: RObject;
  payload: Value;
  headerText: string;
  payloadText: string;
  signingInput: string;
  signature: Buffer;
}

function b64urlDecode(s: string, what: string): Buffer {
  const bad = s.search(/[^A-Za-z0-9_-]/);
  if (bad >= 0 && !/^=*$/.test(s.slice(bad))) {
    throw new JWTError(`JWT ${what} had invalid encoding: illegal base64 data at input byte ${bad}`);
  }
  const t = s.replace(/=+$/, "");
  if (t.length % 4 === 1) {
    throw new JWTError(`JWT ${what} had invalid encoding: illegal base64 data at input byte ${t.length - 1}`);
  }
  return Buffer.from(t, "base64url");
}

function parseJSON(text: string): Value | undefined {
  try {
    return fromJSONText(text);
  } catch {
    return undefined;
  }
}

/** The three sections of a compact JWS (OPA's decodeJWT). */
function splitToken(token: string): [string, string, string] {
  if (!token.includes(".")) throw new JWTError("encoded JWT had no period separators");
  const parts = token.split(".");
  if (parts.length !== 3) throw new JWTError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return parts as [string, string, string];
}

/** A JSON object or OPA's extractJSONObject errors. */
function jsonObject(text: string): RObject {
  let v: Value;
  try {
    v = fromJSONText(text);
  } catch (e) {
    throw new JWTError(`invalid JSON: ${(e as Error).message}`);
  }
  if (!(v instanceof RObject)) throw new JWTError("decoded JSON type was not an Object");
  return v;
}

/** Decodes and checks the header section (JWE tokens are refused). */
function decodeHeader(part: string): RObject {
  const text = b64urlDecode(part, "header").toString("utf8");
  let header: RObject;
  try {
    header = jsonObject(text);
  } catch (e) {
    throw new JWTError(`bad JWT header: ${(e as Error).message}`);
  }
  if (header.getStr("enc") !== undefined) throw new JWTError("JWT is a JWE object, which is not supported");
  return header;
}

export function decodeJWT(token: string): Decoded {
  const parts = splitToken(token);
  const header = decodeHeader(parts[0]);
  const payloadText = b64urlDecode(parts[1], "payload").toString("utf8");
  const cty = header.getStr("cty");
  if (cty === "JWT") {
    // Nested token; jwt.io quotes the inner token, so surrounding quotes are trimmed first.
    return decodeJWT(payloadText.replace(/^["']+|["']+$/g, ""));
  }
  const payload = jsonObject(payloadText);
  const signature = b64urlDecode(parts[2], "signature");
  return { header, payload, headerText: "", payloadText, signingInput: `${parts[0]}.${parts[1]}`, signature };
}

// ---- keys -----------------------------------------------------------------------------

interface VKey {
  kid?: string;
  alg?: string;
  key: KeyObject;
}

// Parsed verification keys by certificate/JWK text: policies pass the same key every call.
const keyCache = new Map<string, VKey[]>();
const KEY_CACHE_MAX = 64;

function keysFromCertOrJWK(certificate: string): VKey[] {
  let keys = keyCache.get(certificate);
  if (!keys) {
    keys = parseKeys(certificate);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(certificate, keys);
  }
  return keys;
}

function parseKeys(certificate: string): VKey[] {
  const pem = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/.exec(certificate);
  if (pem) {
    if (certificate.slice(pem.index + pem[0].length).trim() !== "") {
      throw new JWTError("extra data after a PEM certificate block");
    }
    if (pem[1] === "CERTIFICATE") {
      try {
        return [{ key: new X509Certificate(pem[0]).publicKey }];
      } catch (e) {
        throw new JWTError(`failed to parse a PEM certificate: ${(e as Error).message}`);
      }
    }
    if (pem[1] === "PUBLIC KEY" || pem[1] === "RSA PUBLIC KEY") {
      try {
        return [{ key: createPublicKey(pem[0]) }];
      } catch (e) {
        throw new JWTError(`failed to parse a PEM public key: ${(e as Error).message}`);
      }
    }
    throw new JWTError("failed to extract a Key from the PEM certificate");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(certificate);
  } catch (e) {
    throw new JWTError(`failed to parse a JWK key (set): ${(e as Error).message}`);
  }
  const list = Array.isArray((parsed as { keys?: unknown }).keys)
    ? (parsed as { keys: unknown[] }).keys
    : [parsed];
  const out: VKey[] = [];
  for (const jwk of list) {
    try {
      const j = jwk as Record<string, unknown>;
      if (j.kty === "oct") continue;
      // Keys naming an algorithm OPA does not know are skipped, as in OPA.
      if (typeof j.alg === "string" && !KNOWN_ALGS.has(j.alg)) continue;
      out.push({
        kid: typeof j.kid === "string" ? j.kid : undefined,
        alg: typeof j.alg === "string" ? j.alg : undefined,
        key: createPublicKey({ key: j as import("node:crypto").JsonWebKey, format: "jwk" }),
      });
    } catch (e) {
      throw new JWTError(`failed to parse a JWK key (set): ${(e as Error).message}`);
    }
  }
  return out;
}

const HASH: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };

function verifyWith(alg: string, key: KeyObject, input: string, sig: Buffer): boolean {
  const data = Buffer.from(input, "utf8");
  const fam = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  try {
    if (alg === "EdDSA") return cryptoVerify(null, data, key, sig);
    if (!hash) return false;
    if (fam === "RS") return cryptoVerify(hash, data, key, sig);
    if (fam === "PS") {
      return cryptoVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        sig,
      );
    }
    if (fam === "ES") return cryptoVerify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
  return false;
}

function hmacVerify(alg: string, secret: string, input: string, sig: Buffer): boolean {
  const hash = HASH[alg.slice(2)];
  if (!alg.startsWith("HS") || !hash) return false;
  const mac = createHmac(hash, Buffer.from(secret, "utf8")).update(input, "utf8").digest();
  return mac.length === sig.length && timingSafeEqual(mac, sig);
}

function jwtGuard(name: string, f: (args: Value[], bctx: BuiltinContext) => Value | undefined) {
  return (args: Value[], bctx: BuiltinContext) => {
    try {
      return f(args, bctx);
    } catch (e) {
      if (e instanceof JWTError) throw builtinErr(name, e.message);
      throw e;
    }
  };
}

// ---- decode / verify ------------------------------------------------------------------

registerBuiltin(
  "io.jwt.decode",
  jwtGuard("io.jwt.decode", ([t]) => {
    const d = decodeJWT(str("io.jwt.decode", 1, t));
    return [d.header, d.payload, d.signature.toString("hex")];
  }),
  { arity: 1 },
);

/** JWS algorithms OPA verifies with a public key (io.jwt.verify_<alg>, decode_verify). */
const ASYMMETRIC_ALGS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];
/** JWS algorithms OPA verifies with a shared secret. */
const HMAC_ALGS = ["HS256", "HS384", "HS512"];

for (const alg of ASYMMETRIC_ALGS) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  registerBuiltin(
    name,
    jwtGuard(name, ([t, c]) => {
      const parts = splitToken(str(name, 1, t));
      const keys = keysFromCertOrJWK(str(name, 2, c));
      const sig = b64urlDecode(parts[2], "signature");
      const header = decodeHeader(parts[0]);
      headerValid(header); // type checks of the known header fields
      const input = `${parts[0]}.${parts[1]}`;
      // A key whose kid matches the header's decides alone; otherwise keys without an alg, or
      // with the header's alg, are tried.
      const kid = header.getStr("kid");
      const byKid = typeof kid === "string" && kid !== "" ? keys.find((k) => k.kid === kid) : undefined;
      if (byKid) return verifyWith(alg, byKid.key, input, sig);
      const headerAlg = header.getStr("alg");
      return keys.some(
        (k) => (k.alg === undefined || k.alg === headerAlg) && verifyWith(alg, k.key, input, sig),
      );
    }),
    { arity: 2 },
  );
}

for (const alg of HMAC_ALGS) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  registerBuiltin(
    name,
    jwtGuard(name, ([t, s]) => {
      const parts = splitToken(str(name, 1, t));
      const secret = str(name, 2, s);
      return hmacVerify(alg, secret, `${parts[0]}.${parts[1]}`, b64urlDecode(parts[2], "signature"));
    }),
    { arity: 2 },
  );
}

interface Constraints {
  keys?: VKey[];
  secret?: string;
  alg?: string;
  iss?: string;
  aud?: string;
  /** nanoseconds */
  time: number;
}

/** OPA's parseTokenConstraints + validate: every constraint typed, exactly one key source. */
function parseConstraints(cons: RObject, nowNs: bigint): Constraints {
  const out: Constraints = { time: -1 };
  const str = (k: string, v: Value): string => {
    if (typeof v !== "string") throw new JWTError(`${k} constraint: must be a string`);
    return v;
  };
  for (const k of cons.sortedKeys()) {
    const v = cons.get(k) as Value;
    switch (k) {
      case "cert":
        out.keys = keysFromCertOrJWK(typeof v === "string" ? v : str("cert", v));
        break;
      case "secret":
        out.secret = str("secret", v);
        break;
      case "alg":
        out.alg = str("alg", v);
        break;
      case "iss":
        out.iss = str("iss", v);
        break;
      case "aud":
        out.aud = str("aud", v);
        break;
      case "time":
        if (typeof v !== "number" && typeof v !== "bigint")
          throw new JWTError("token time constraint: must be a number");
        if (v < 0) throw new JWTError("token time constraint: must not be negative");
        out.time = Number(v);
        break;
      default:
        throw new JWTError(`unknown token validation constraint: ${typeof k === "string" ? k : goJSON(k)}`);
    }
  }
  if (out.time === -1) out.time = Number(nowNs);
  const sources = (out.keys !== undefined ? 1 : 0) + (out.secret ? 1 : 0);
  if (sources > 1) throw new JWTError("duplicate key constraints");
  if (sources < 1) throw new JWTError("no key constraint");
  return out;
}

const KNOWN_VERIFY_ALGS = new Set<string>([...ASYMMETRIC_ALGS, ...HMAC_ALGS]);
const KNOWN_HEADERS = new Set(["alg", "kid", "typ", "cty", "crit"]);

/** The header is usable: `alg` present, and every `crit` parameter is one we understand. */
function headerValid(header: RObject): boolean {
  for (const k of ["alg", "kid", "typ", "cty"]) {
    const v = header.getStr(k);
    if (v !== undefined && typeof v !== "string") throw new JWTError(`${k}: must be a string`);
  }
  const alg = header.getStr("alg");
  if (typeof alg !== "string" || alg === "") return false;
  const crit = header.getStr("crit");
  if (crit !== undefined) {
    if (!Array.isArray(crit)) throw new JWTError("crit: must be a list");
    if (crit.length === 0) throw new JWTError("crit: must be a nonempty list");
    for (const c of crit) {
      if (typeof c !== "string") throw new JWTError("crit: must be a list of strings");
      if (!KNOWN_HEADERS.has(c) && header.getStr(c) !== undefined) return false;
    }
  }
  return true;
}

function claimSeconds(payload: RObject, claim: string): number | undefined {
  const v = payload.getStr(claim);
  if (v === undefined) return undefined;
  if (typeof v !== "number" && typeof v !== "bigint") throw new JWTError(`${claim} value must be a number`);
  return Number(v);
}

registerBuiltin(
  "io.jwt.decode_verify",
  jwtGuard("io.jwt.decode_verify", ([t, c], bctx) => {
    const name = "io.jwt.decode_verify";
    const cons = parseConstraints(obj(name, 2, c), bctx.nowNs);
    const unverified: Value = [false, new RObject(), new RObject()];
    let token = str(name, 1, t);
    let header: RObject;
    let payloadText: string;
    for (;;) {
      const parts = splitToken(token);
      header = decodeHeader(parts[0]);
      if (!headerValid(header)) return unverified;
      const alg = header.getStr("alg") as string;
      if (cons.alg !== undefined && cons.alg !== "" && cons.alg !== alg) return unverified;
      if (!KNOWN_VERIFY_ALGS.has(alg)) return unverified;
      const signature = b64urlDecode(parts[2], "signature");
      const input = `${parts[0]}.${parts[1]}`;
      let ok: boolean;
      if (cons.keys !== undefined) {
        // A key whose kid matches the header's is the only one tried; otherwise every key
        // without an alg, or with the token's alg.
        const kid = header.getStr("kid");
        const byKid =
          typeof kid === "string" && kid !== "" ? cons.keys.find((k) => k.kid === kid) : undefined;
        ok = byKid
          ? verifyWith(alg, byKid.key, input, signature)
          : cons.keys.some(
              (k) => (k.alg === undefined || k.alg === alg) && verifyWith(alg, k.key, input, signature),
            );
      } else {
        ok = hmacVerify(alg, cons.secret as string, input, signature);
      }
      if (!ok) return unverified;
      payloadText = b64urlDecode(parts[1], "payload").toString("utf8");
      const cty = header.getStr("cty");
      if (typeof cty === "string" && cty.toUpperCase() === "JWT") {
        // Nested token: verify the inner one with the same constraints.
        const inner = parseJSON(payloadText);
        token = typeof inner === "string" ? inner : payloadText;
        continue;
      }
      break;
    }
    const payload = jsonObject(payloadText);
    if (cons.iss !== undefined && cons.iss !== "") {
      if (payload.getStr("iss") !== cons.iss) return unverified;
    }
    const aud = payload.getStr("aud");
    if (aud !== undefined) {
      const auds = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
      if (cons.aud === undefined || !auds.some((a) => a === cons.aud)) return unverified;
    } else if (cons.aud !== undefined && cons.aud !== "") return unverified;
    const nowSec = cons.time / 1e9;
    const exp = claimSeconds(payload, "exp");
    if (exp !== undefined && nowSec >= exp) return unverified;
    const nbf = claimSeconds(payload, "nbf");
    if (nbf !== undefined && nowSec < nbf) return unverified;
    return [true, header, payload];
  }),
  { arity: 2, nondeterministic: true },
);

// ---- signing --------------------------------------------------------------------------

function b64url(s: string | Buffer): string {
  return (typeof s === "string" ? Buffer.from(s, "utf8") : s).toString("base64url");
}

const KNOWN_ALGS = new Set<string>([...KNOWN_VERIFY_ALGS, "none"]);

function signJWT(headerText: string, payloadText: string, jwk: Record<string, unknown>): string {
  if (headerText === "")
    throw new JWTError("missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string");
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    if (/^[\s{[]/.test(headerText)) throw new JWTError("missing or invalid 'alg' header: cannot parse JSON");
    throw new JWTError(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
  }
  const h = header as Record<string, unknown>;
  if (typeof h !== "object" || h === null || typeof h.alg !== "string") {
    throw new JWTError(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
  }
  const alg = h.alg;
  if (!KNOWN_ALGS.has(alg)) throw new JWTError(`unknown JWS algorithm: ${alg}`);
  // OPA insists on a JSON payload unless the header names another type.
  if (typeof h.typ !== "string" || h.typ === "JWT") {
    try {
      JSON.parse(payloadText);
    } catch {
      throw new JWTError("type is JWT but payload is not JSON");
    }
  }
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const data = Buffer.from(input, "utf8");
  let sig: Buffer;
  const hash = HASH[alg.slice(2)];
  try {
    if (alg === "none") sig = Buffer.alloc(0);
    else if (alg.startsWith("HS")) {
      if (typeof jwk.k !== "string") throw new JWTError("invalid JWK: missing k");
      sig = createHmac(hash, Buffer.from(jwk.k, "base64url")).update(data).digest();
    } else {
      const key = createPrivateKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
      if (alg === "EdDSA") sig = cryptoSign(null, data, key);
      else if (alg.startsWith("RS")) sig = cryptoSign(hash, data, key);
      else if (alg.startsWith("PS")) {
        sig = cryptoSign(hash, data, {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
      } else sig = cryptoSign(hash, data, { key, dsaEncoding: "ieee-p1363" });
    }
  } catch (e) {
    if (e instanceof JWTError) throw e;
    throw new JWTError(`failed to sign token: ${(e as Error).message}`);
  }
  return `${input}.${b64url(sig)}`;
}

registerBuiltin(
  "io.jwt.encode_sign_raw",
  jwtGuard("io.jwt.encode_sign_raw", ([h, p, k]) => {
    const name = "io.jwt.encode_sign_raw";
    const keyText = str(name, 3, k);
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(keyText);
    } catch (e) {
      throw new JWTError(`failed to parse a JWK key: ${(e as Error).message}`);
    }
    return signJWT(str(name, 1, h), str(name, 2, p), jwk);
  }),
  { arity: 3 },
);

registerBuiltin(
  "io.jwt.encode_sign",
  jwtGuard("io.jwt.encode_sign", ([h, p, k]) => {
    const name = "io.jwt.encode_sign";
    const header = obj(name, 1, h);
    const payload = obj(name, 2, p);
    const key = obj(name, 3, k);
    return signJWT(goJSON(header), goJSON(payload), JSON.parse(goJSON(key)));
  }),
  { arity: 3 },
);
