import type { Subject } from "../pipeline/types.js";
import type { ClaimMapping } from "./config.js";

// Maps verified JWT claims onto a Subject, per configuration.

export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let cur: unknown = claims;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function asList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string" && x.length > 0);
  if (typeof v === "string") return v.split(/[\s,]+/).filter(Boolean);
  return [];
}

function asString(v: unknown): string | undefined {
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number") return String(v);
  return undefined;
}

/** Returns the subject, or a reason string when a required claim is missing. */
export function subjectFromClaims(
  claims: Record<string, unknown>,
  mapping: ClaimMapping,
  defaultTenant: string | undefined,
): Subject | string {
  const user = asString(claimAt(claims, mapping.user));
  if (!user) return `missing user claim "${mapping.user}"`;
  const tenant = asString(claimAt(claims, mapping.tenant)) ?? defaultTenant;
  if (!tenant) return `missing tenant claim "${mapping.tenant}"`;
  const team = mapping.team ? asString(claimAt(claims, mapping.team)) : undefined;
  const extra: Record<string, unknown> = {};
  for (const p of mapping.extra) {
    const v = claimAt(claims, p);
    if (v !== undefined) extra[p] = v;
  }
  const jti = asString(claims.jti);
  return {
    user,
    tenant,
    ...(team ? { team } : {}),
    roles: asList(claimAt(claims, mapping.roles)),
    scopes: asList(claimAt(claims, mapping.scopes)),
    authMethod: "jwt",
    credentialId: jti ? `jti:${jti}` : `sub:${user}`,
    ...(mapping.extra.length ? { claims: extra } : {}),
  };
}
