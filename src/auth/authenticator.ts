import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import type { Subject } from "../pipeline/types.js";
import { type AuditSink, writeAudit } from "./audit.js";
import type { AuthConfig } from "./config.js";
import { AuthError } from "./errors.js";
import { JwtVerifier } from "./jwt.js";
import { type ApiKeyRecord, KeyStore } from "./keyStore.js";
import { resourceMetadataUrl, resourceUrl } from "./resourceMetadata.js";

// The HTTP front door's `authenticate(req)`: API key or bearer JWT → Subject, or an
// AuthError carrying 401 + WWW-Authenticate (RFC 6750 / RFC 9728). The credential is
// consumed here: the proxy never forwards the client's Authorization header downstream.

export type Authenticate = (req: IncomingMessage) => Promise<Subject>;

export interface AuthenticatorDeps {
  keyStore?: KeyStore;
  jwt?: JwtVerifier;
  audit?: AuditSink;
}

export interface Authenticator {
  authenticate: Authenticate;
  /** Authenticates a raw credential string (bearer token or API key). */
  authenticateToken(token: string | undefined, resource?: string): Promise<Subject>;
  /** WWW-Authenticate value for a 401 without a specific error (e.g. no credential). */
  challenge(resource: string, err?: AuthError): string;
  readonly keyStore?: KeyStore;
  readonly jwt?: JwtVerifier;
}

/** Key-store path from config. */
export function keyStorePath(cfg: AuthConfig): string {
  return cfg.apiKeys.file ?? join(cfg.stateDir, "keys.json");
}

/** Pulls the credential from `Authorization: Bearer …` or `X-API-Key`. */
/**
 * Pulls the credential from `Authorization: Bearer …` or `X-API-Key`. Undefined when there is
 * none (another auth scheme counts as none); "" when a Bearer header is malformed.
 */
export function credentialFrom(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === "string" && /^Bearer(\s|$)/i.test(h)) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : "";
  }
  const k = req.headers["x-api-key"];
  if (typeof k === "string") return k.trim().startsWith("wk_") ? k.trim() : "";
  return undefined;
}

function subjectFromKey(r: ApiKeyRecord): Subject {
  return {
    user: `key:${r.name}`,
    tenant: r.tenant,
    ...(r.team ? { team: r.team } : {}),
    roles: [...r.roles],
    scopes: [...r.scopes],
    authMethod: "api_key",
    credentialId: r.id,
  };
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "")}"`;
}

export function createAuthenticator(cfg: AuthConfig, deps: AuthenticatorDeps = {}): Authenticator {
  const keyStore = cfg.apiKeys.enabled ? (deps.keyStore ?? new KeyStore(keyStorePath(cfg))) : undefined;
  const jwt =
    deps.jwt ??
    (cfg.jwt?.enabled
      ? new JwtVerifier(cfg.jwt, { defaultAudience: cfg.resourceMetadata.resource })
      : undefined);
  const audit = deps.audit;
  // Verified API keys, keyed by a hash of the token, for `cacheSeconds`. Revocation still
  // wins: each hit re-checks the record's status in the (mtime-refreshed) store.
  const keyCache = new LRUCache<string, { id: string; until: number }>({ max: 10_000 });
  const lastUsedMs = cfg.apiKeys.lastUsedFlushSeconds * 1000;

  const challenge = (resource: string, err?: AuthError): string => {
    const parts = [`resource_metadata=${quote(resourceMetadataUrl(resource))}`];
    if (err?.code) parts.push(`error=${quote(err.code)}`, `error_description=${quote(err.description)}`);
    return `Bearer ${parts.join(", ")}`;
  };

  const fail = async (
    resource: string,
    code: AuthError["code"],
    description: string,
    reason: string,
    method: string,
    credentialId?: string,
  ): Promise<never> => {
    await writeAudit(audit, {
      event: "auth.failed",
      method,
      reason,
      ...(credentialId ? { credentialId } : {}),
    });
    const err = new AuthError(401, code, description, reason);
    err.wwwAuthenticate = challenge(resource, err);
    throw err;
  };

  const viaKey = async (token: string, resource: string): Promise<Subject> => {
    if (!keyStore)
      return fail(
        resource,
        "invalid_token",
        "API keys are not accepted here",
        "api_keys_disabled",
        "api_key",
      );
    const now = Date.now();
    const cacheKey = createHash("sha256").update(token).digest("base64url");
    const hit = keyCache.get(cacheKey);
    if (hit && hit.until > now) {
      const info = keyStore.verifyCachedId(hit.id, now);
      if (info) return subjectFromKey(info);
      keyCache.delete(cacheKey);
    }
    const check = keyStore.verify(token, now);
    if (!check.ok) {
      const desc =
        check.reason === "revoked"
          ? "the API key has been revoked"
          : check.reason === "expired"
            ? "the API key has expired"
            : "the API key is not valid";
      return fail(resource, "invalid_token", desc, `api_key_${check.reason}`, "api_key", check.id);
    }
    if (cfg.apiKeys.cacheSeconds > 0) {
      keyCache.set(cacheKey, { id: check.record.id, until: now + cfg.apiKeys.cacheSeconds * 1000 });
    }
    if (keyStore.touch(check.record.id, lastUsedMs, now)) {
      await writeAudit(audit, {
        event: "auth.key_used",
        credentialId: check.record.id,
        tenant: check.record.tenant,
        name: check.record.name,
      });
    }
    return subjectFromKey(check.record);
  };

  const viaJwt = async (token: string, resource: string): Promise<Subject> => {
    if (!jwt)
      return fail(resource, "invalid_token", "bearer tokens are not accepted here", "jwt_disabled", "jwt");
    const r = await jwt.verify(token);
    if (!r.ok) return fail(resource, "invalid_token", r.detail, `jwt_${r.reason}`, "jwt");
    return r.subject;
  };

  const authenticateToken = async (
    token: string | undefined,
    resource = resourceUrl(cfg.resourceMetadata),
  ) => {
    if (token === undefined) {
      // No credential at all: RFC 6750 says no error code, just the challenge.
      await writeAudit(audit, { event: "auth.failed", method: "none", reason: "no_credential" });
      const err = new AuthError(401, undefined, "authentication required", "no_credential");
      err.wwwAuthenticate = challenge(resource);
      throw err;
    }
    if (token === "")
      return fail(resource, "invalid_request", "malformed Authorization header", "malformed", "none");
    return token.startsWith("wk_") ? viaKey(token, resource) : viaJwt(token, resource);
  };

  return {
    authenticate: async (req) => {
      const resource = resourceUrl(cfg.resourceMetadata, req);
      const subject = await authenticateToken(credentialFrom(req), resource);
      const missing = cfg.requiredScopes.filter((s) => !subject.scopes.includes(s));
      if (missing.length > 0) {
        await writeAudit(audit, {
          event: "auth.failed",
          method: subject.authMethod,
          reason: "insufficient_scope",
          ...(subject.credentialId ? { credentialId: subject.credentialId } : {}),
        });
        const err = new AuthError(
          403,
          "insufficient_scope",
          `missing scope ${missing.join(" ")}`,
          "insufficient_scope",
        );
        err.wwwAuthenticate = `${challenge(resource, err)}, scope=${quote(cfg.requiredScopes.join(" "))}`;
        throw err;
      }
      return subject;
    },
    authenticateToken,
    challenge,
    keyStore,
    jwt,
  };
}
