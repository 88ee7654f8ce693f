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

export function decodeJWT(token: string): Decoded {
  if (!token.includes(".")) throw new JWTError("encoded JWT had no period separators");
  const parts = token.split(".");
  if (parts.length === 5) throw new JWTError("JWT is a JWE object, which is not supported");
  if (parts.length !== 3) throw new JWTError(`encoded JWT must have 3 sections, found ${parts.length}`);
  const headerText = b64urlDecode(parts[0], "header").toString("utf8");
  const header = parseJSON(headerText);
  if (!(header instanceof RObject)) throw new JWTError("JWT header had invalid encoding: not a JSON object");
  if (header.getStr("enc") !== undefined) throw new JWTError("JWT is a JWE object, which is not supported");
  const payloadText = b64urlDecode(parts[1], "payload").toString("utf8");
  let payload: Value | undefined;
  const cty = header.getStr("cty");
  if (typeof cty === "string" && cty.toUpperCase() === "JWT") {
    // Nested token: the payload is the inner JWT (possibly as a JSON string); decode that one.
    const inner = parseJSON(payloadText);
    return decodeJWT(typeof inner === "string" ? inner : payloadText);
  } else {
    payload = parseJSON(payloadText);
    if (payload === undefined) throw new JWTError("JWT payload had invalid encoding: not JSON");
  }
  const signature = b64urlDecode(parts[2], "signature");
  return { header, payload, headerText, payloadText, signingInput: `${parts[0]}.${parts[1]}`, signature };
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

for (const alg of [
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
]) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  registerBuiltin(
    name,
    jwtGuard(name, ([t, c]) => {
      const token = str(name, 1, t);
      const cert = str(name, 2, c);
      const parts = token.split(".");
      if (parts.length !== 3) throw new JWTError(`encoded JWT must have 3 sections, found ${parts.length}`);
      const sig = b64urlDecode(parts[2], "signature");
      const keys = keysFromCertOrJWK(cert);
      return keys.some((k) => verifyWith(alg, k.key, `${parts[0]}.${parts[1]}`, sig));
    }),
    { arity: 2 },
  );
}

for (const alg of ["HS256", "HS384", "HS512"]) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  registerBuiltin(
    name,
    jwtGuard(name, ([t, s]) => {
      const token = str(name, 1, t);
      const secret = str(name, 2, s);
      const parts = token.split(".");
      if (parts.length !== 3) throw new JWTError(`encoded JWT must have 3 sections, found ${parts.length}`);
      return hmacVerify(alg, secret, `${parts[0]}.${parts[1]}`, b64urlDecode(parts[2], "signature"));
    }),
    { arity: 2 },
  );
}

const CONSTRAINTS = new Set(["cert", "secret", "alg", "iss", "aud", "time"]);

function numClaim(payload: RObject, claim: string): number | undefined {
  const v = payload.getStr(claim);
  if (v === undefined) return undefined;
  if (typeof v !== "number" && typeof v !== "bigint") throw new JWTError(`${claim} value must be a number`);
  return Number(v);
}

registerBuiltin(
  "io.jwt.decode_verify",
  jwtGuard("io.jwt.decode_verify", ([t, c], bctx) => {
    const name = "io.jwt.decode_verify";
    const token = str(name, 1, t);
    const cons = obj(name, 2, c);
    for (const k of cons.keys()) {
      if (typeof k !== "string" || !CONSTRAINTS.has(k)) {
        throw new JWTError(`unknown token validation constraint: ${typeof k === "string" ? k : goJSON(k)}`);
      }
    }
    const unverified: Value = [false, new RObject(), new RObject()];
    const d = decodeJWT(token);
    const alg = d.header.getStr("alg");
    if (typeof alg !== "string") return unverified;
    const wantAlg = cons.getStr("alg");
    if (wantAlg !== undefined && wantAlg !== alg) return unverified;
    if (d.header.getStr("crit") !== undefined) return unverified;
    const cert = cons.getStr("cert");
    const secret = cons.getStr("secret");
    let ok = false;
    if (alg.startsWith("HS")) {
      if (typeof secret !== "string") return unverified;
      ok = hmacVerify(alg, secret, d.signingInput, d.signature);
    } else {
      if (typeof cert !== "string") return unverified;
      let keys = keysFromCertOrJWK(cert);
      const kid = d.header.getStr("kid");
      if (typeof kid === "string" && keys.some((k) => k.kid !== undefined))
        keys = keys.filter((k) => k.kid === kid);
      ok = keys.some(
        (k) => (k.alg === undefined || k.alg === alg) && verifyWith(alg, k.key, d.signingInput, d.signature),
      );
    }
    if (!ok) return unverified;
    if (!(d.payload instanceof RObject)) return unverified;
    const p = d.payload;
    const timeV = cons.getStr("time");
    const now = typeof timeV === "number" || typeof timeV === "bigint" ? Number(timeV) : Number(bctx.nowNs);
    const exp = numClaim(p, "exp");
    if (exp !== undefined && now >= exp * 1e9) return unverified;
    const nbf = numClaim(p, "nbf");
    if (nbf !== undefined && now < nbf * 1e9) return unverified;
    const iss = cons.getStr("iss");
    if (iss !== undefined && p.getStr("iss") !== iss) return unverified;
    const aud = p.getStr("aud");
    const wantAud = cons.getStr("aud");
    if (aud !== undefined) {
      if (wantAud === undefined) return unverified;
      const auds = Array.isArray(aud) ? aud : [aud];
      if (!auds.includes(wantAud)) return unverified;
    } else if (wantAud !== undefined) return unverified;
    return [true, d.header, d.payload];
  }),
  { arity: 2, nondeterministic: true },
);

// ---- signing --------------------------------------------------------------------------

function b64url(s: string | Buffer): string {
  return (typeof s === "string" ? Buffer.from(s, "utf8") : s).toString("base64url");
}

const KNOWN_ALGS = new Set([
  "HS256",
  "HS384",
  "HS512",
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
  "none",
]);

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
  if (h.typ === "JWT") {
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
