// Identity: API keys, bearer JWTs, RFC 9728 metadata and the stdio subject.
export { type AuditSink, JsonlAuditSink, MemoryAuditSink, writeAudit } from "./audit.js";
export {
  type Authenticate,
  type Authenticator,
  createAuthenticator,
  credentialFrom,
  keyStorePath,
} from "./authenticator.js";
export { subjectFromClaims } from "./claims.js";
export { type AuthConfig, authConfigSchema, parseAuthConfig } from "./config.js";
export { AuthError } from "./errors.js";
export { JwtVerifier } from "./jwt.js";
export { type ApiKeyInfo, KeyStore, parseApiKey } from "./keyStore.js";
export {
  handleResourceMetadata,
  RESOURCE_METADATA_PATH,
  resourceMetadataDocument,
  resourceMetadataUrl,
} from "./resourceMetadata.js";
export { stdioSubject } from "./stdioSubject.js";
export { isSameTenant, tenantVisible } from "./tenancy.js";
