import { z } from "zod";

// Configuration of identity, the `auth` section of warden.yaml: API keys, bearer JWTs and the
// RFC 9728 protected-resource metadata. The stdio subject stays in the core's `identity.stdio`
// (stdioSubjectSchema below mirrors it).

const claimPath = z.string().min(1);

/** Where each Subject field comes from in the JWT claims (dot paths allowed, e.g. "realm_access.roles"). */
export const claimMappingSchema = z
  .object({
    user: claimPath.default("sub"),
    tenant: claimPath.default("tenant"),
    team: claimPath.optional(),
    roles: claimPath.default("roles"),
    /** OAuth `scope` is a space-separated string; arrays are accepted too. */
    scopes: claimPath.default("scope"),
    /** Extra claims copied verbatim into Subject.claims. */
    extra: z.array(claimPath).default([]),
  })
  .strict();

export const jwtConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    issuer: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Audience this warden accepts; defaults to the protected resource URL. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Accepted JWS algorithms. "none" is refused whatever is configured. */
    algorithms: z
      .array(z.string().min(1))
      .min(1)
      .default(["RS256", "ES256", "EdDSA"])
      .refine((algs) => !algs.some((a) => a.toLowerCase() === "none"), {
        message: 'algorithm "none" is never accepted',
      }),
    /** Remote JWKS (fetched, cached and refreshed on unknown `kid`). */
    jwksUrl: z.string().url().optional(),
    jwksCacheMaxAgeSeconds: z.number().int().positive().default(600),
    jwksCooldownSeconds: z.number().int().nonnegative().default(30),
    /** Static verification keys: PEM SPKI public keys or public JWKs. */
    publicKeys: z.array(z.union([z.string().min(1), z.record(z.string(), z.unknown())])).default([]),
    /** HMAC secret (HS256/384/512) given by reference: `env:NAME`. Never inline. */
    secretRef: z
      .string()
      .regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, "secretRef must be env:NAME")
      .optional(),
    clockToleranceSeconds: z.number().int().nonnegative().max(300).default(30),
    /** Tokens without `exp` are refused unless this is true. */
    requireExp: z.boolean().default(true),
    claims: claimMappingSchema.default({
      user: "sub",
      tenant: "tenant",
      roles: "roles",
      scopes: "scope",
      extra: [],
    }),
    /** Used when the token has no tenant claim; absent → the token is refused. */
    defaultTenant: z.string().min(1).optional(),
    cache: z
      .object({ max: z.number().int().positive().default(10_000) })
      .strict()
      .default({ max: 10_000 }),
  })
  .strict()
  .refine((j) => !j.enabled || j.jwksUrl || j.publicKeys.length > 0 || j.secretRef, {
    message: "jwt.enabled needs jwksUrl, publicKeys or secretRef",
  });

export const apiKeysConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Key store file; defaults to <stateDir>/keys.json. */
    file: z.string().min(1).optional(),
    /** Minimum interval between persisted last-used updates for one key. */
    lastUsedFlushSeconds: z.number().int().nonnegative().default(60),
    /** Verified keys are cached this long (revocation via this process is immediate). */
    cacheSeconds: z.number().int().nonnegative().default(30),
  })
  .strict();

/** `identity.stdio` (read by the proxy core): same fields and defaults as its schema. */
export const stdioSubjectSchema = z
  .object({
    user: z.string().min(1).default("local"),
    tenant: z.string().min(1).default("default"),
    roles: z.array(z.string()).default([]),
    scopes: z.array(z.string()).default([]),
  })
  .strict();

export const resourceMetadataSchema = z
  .object({
    /** Canonical URL of this warden's MCP endpoint, e.g. https://warden.example.com/mcp. */
    resource: z.string().url().optional(),
    authorizationServers: z.array(z.string().url()).default([]),
    scopesSupported: z.array(z.string().min(1)).default([]),
    resourceName: z.string().default("mcp-warden"),
    resourceDocumentation: z.string().url().optional(),
  })
  .strict();

export const authConfigSchema = z
  .object({
    /** Directory holding keys.json (mode 0600). */
    stateDir: z.string().min(1).default(".warden"),
    /** HTTP: which credentials are accepted. Neither → every HTTP call is refused (401). */
    apiKeys: apiKeysConfigSchema.default({ enabled: true, lastUsedFlushSeconds: 60, cacheSeconds: 30 }),
    jwt: jwtConfigSchema.optional(),
    /** Scopes every caller must hold on /mcp and /sse; missing ones → 403 insufficient_scope. */
    requiredScopes: z.array(z.string().min(1)).default([]),
    resourceMetadata: resourceMetadataSchema.default({
      authorizationServers: [],
      scopesSupported: [],
      resourceName: "mcp-warden",
    }),
  })
  .strict();

export type AuthConfig = z.infer<typeof authConfigSchema>;
export type JwtConfig = z.infer<typeof jwtConfigSchema>;
export type ClaimMapping = z.infer<typeof claimMappingSchema>;
export type StdioSubjectConfig = z.infer<typeof stdioSubjectSchema>;
export type ResourceMetadataConfig = z.infer<typeof resourceMetadataSchema>;

/** Parses auth config, throwing an error that names every bad field. */
export function parseAuthConfig(input: unknown): AuthConfig {
  const r = authConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`invalid auth config: ${detail}`);
  }
  return r.data;
}
