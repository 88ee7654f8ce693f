import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { LRUCache } from "lru-cache";
import type { Subject } from "../pipeline/types.js";
import { subjectFromClaims } from "./claims.js";
import type { JwtConfig } from "./config.js";

// Bearer JWT verification with jose. Verified tokens are cached by SHA-256 of the token
// (never the token itself) in a bounded LRU, and never beyond their own `exp`.

export type JwtCheck =
  | { ok: true; subject: Subject; exp?: number }
  | { ok: false; reason: string; detail: string };

interface CachedSubject {
  subject: Subject;
  /** ms epoch; the entry is dead from then on. */
  expMs: number;
  nbfMs: number;
}

export interface JwtVerifierOptions {
  /** Audience to enforce when the config has none (the protected resource URL). */
  defaultAudience?: string;
  /** Environment lookup for secretRef (tests inject). */
  env?: NodeJS.ProcessEnv;
  /** Cache TTL ceiling for tokens without exp (only reachable when requireExp is false). */
  maxCacheMs?: number;
}

export class JwtVerifier {
  private readonly algorithms: string[];
  private readonly audience: string | string[] | undefined;
  private readonly remote?: JWTVerifyGetKey;
  private readonly staticKeys: Array<KeyObject | Uint8Array> = [];
  private readonly cache: LRUCache<string, CachedSubject>;
  private readonly maxCacheMs: number;

  constructor(
    private readonly config: JwtConfig,
    opts: JwtVerifierOptions = {},
  ) {
    this.algorithms = config.algorithms.filter((a) => a.toLowerCase() !== "none");
    this.audience = config.audience ?? opts.defaultAudience;
    if (!this.audience)
      throw new Error("jwt: an audience is required (jwt.audience or resourceMetadata.resource)");
    if (config.jwksUrl) {
      this.remote = createRemoteJWKSet(new URL(config.jwksUrl), {
        cacheMaxAge: config.jwksCacheMaxAgeSeconds * 1000,
        cooldownDuration: config.jwksCooldownSeconds * 1000,
      });
    }
    for (const k of config.publicKeys) {
      this.staticKeys.push(
        typeof k === "string"
          ? createPublicKey(k)
          : createPublicKey({
              key: k as Parameters<typeof createPublicKey>[0] & object,
              format: "jwk",
            } as never),
      );
    }
    if (config.secretRef) {
      const name = config.secretRef.slice(4);
      const value = (opts.env ?? process.env)[name];
      if (!value) throw new Error(`jwt.secretRef: environment variable ${name} is not set`);
      if (value.length < 32) throw new Error(`jwt.secretRef: ${name} must hold at least 32 characters`);
      this.staticKeys.push(new TextEncoder().encode(value));
    }
    this.cache = new LRUCache({ max: config.cache.max });
    this.maxCacheMs = opts.maxCacheMs ?? 300_000;
  }

  async verify(token: string, now = Date.now()): Promise<JwtCheck> {
    const cacheKey = createHash("sha256").update(token).digest("base64url");
    const hit = this.cache.get(cacheKey);
    if (hit) {
      if (now < hit.expMs && now >= hit.nbfMs) return { ok: true, subject: hit.subject };
      this.cache.delete(cacheKey);
    }
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return { ok: false, reason: "malformed", detail: "the bearer token is not a JWT" };
    }
    if (!alg || alg.toLowerCase() === "none" || !this.algorithms.includes(alg)) {
      return { ok: false, reason: "bad_algorithm", detail: `algorithm ${alg ?? "(none)"} is not accepted` };
    }
    const options = {
      issuer: this.config.issuer,
      audience: this.audience,
      algorithms: this.algorithms,
      clockTolerance: this.config.clockToleranceSeconds,
      requiredClaims: this.config.requireExp ? ["exp"] : [],
      currentDate: new Date(now),
    };
    let payload: JWTPayload | undefined;
    let lastError: unknown;
    const attempts: Array<JWTVerifyGetKey | KeyObject | Uint8Array> = this.remote
      ? [this.remote, ...this.staticKeys]
      : this.staticKeys;
    for (const key of attempts) {
      try {
        const r = await jwtVerify(token, key as never, options);
        payload = r.payload;
        break;
      } catch (e) {
        lastError = e;
        // Only a key/signature mismatch is worth trying the next key; claim failures are final.
        if (
          !(e instanceof joseErrors.JWSSignatureVerificationFailed) &&
          !(e instanceof joseErrors.JWKSNoMatchingKey) &&
          !(e instanceof TypeError)
        ) {
          break;
        }
      }
    }
    if (!payload) return { ok: false, ...describe(lastError) };
    const mapped = subjectFromClaims(
      payload as Record<string, unknown>,
      this.config.claims,
      this.config.defaultTenant,
    );
    if (typeof mapped === "string") return { ok: false, reason: "claims", detail: mapped };
    const tol = this.config.clockToleranceSeconds * 1000;
    const expMs = payload.exp !== undefined ? payload.exp * 1000 + tol : now + this.maxCacheMs;
    const nbfMs = payload.nbf !== undefined ? payload.nbf * 1000 - tol : 0;
    this.cache.set(cacheKey, { subject: mapped, expMs: Math.min(expMs, now + this.maxCacheMs), nbfMs });
    return { ok: true, subject: mapped, exp: payload.exp };
  }

  /** Drops cached verifications (e.g. after a key rotation the operator wants to force). */
  clearCache(): void {
    this.cache.clear();
  }
}

function describe(e: unknown): { reason: string; detail: string } {
  if (e instanceof joseErrors.JWTExpired) return { reason: "expired", detail: "the token has expired" };
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = e.claim;
    if (claim === "aud") return { reason: "bad_audience", detail: "the token is not for this resource" };
    if (claim === "iss") return { reason: "bad_issuer", detail: "the token issuer is not trusted" };
    if (claim === "nbf") return { reason: "not_yet_valid", detail: "the token is not valid yet" };
    return { reason: `bad_claim_${claim}`, detail: `claim ${claim} is invalid` };
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed)
    return { reason: "bad_algorithm", detail: "the token algorithm is not accepted" };
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey)
    return { reason: "bad_signature", detail: "the token signature is invalid" };
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid)
    return { reason: "jwks_unavailable", detail: "the token could not be verified (key set unavailable)" };
  return { reason: "invalid", detail: "the token is invalid" };
}
