// Authentication failures carry the HTTP status and the RFC 6750 error code, so the front
// door can answer 401 with a precise WWW-Authenticate header and no detail leaks further.
export type AuthErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope";

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly code: AuthErrorCode | undefined,
    /** Safe to show the client: never contains the credential. */
    readonly description: string,
    /** For audit only (e.g. "revoked", "bad_audience"). */
    readonly reason: string,
    /** Set by the authenticator: the header value to send with the refusal. */
    public wwwAuthenticate = "",
  ) {
    super(description);
    this.name = "AuthError";
  }
}
