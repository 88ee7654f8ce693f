import type { IncomingMessage, ServerResponse } from "node:http";
import type { Subject } from "../pipeline/types.js";
import { AuthenticationRequired, type HttpRoute } from "../server/http.js";
import type { Authenticator } from "./authenticator.js";
import type { ResourceMetadataConfig } from "./config.js";
import { AuthError } from "./errors.js";
import { handleResourceMetadata, RESOURCE_METADATA_PATH } from "./resourceMetadata.js";

// Glue between this area and the proxy's HTTP front door: its authenticate hook expects
// AuthenticationRequired (→ 401 + WWW-Authenticate), and its routes are exact paths.

/** Wraps the authenticator for `listenHttp({ authenticate })`. */
export function frontDoorAuthenticate(auth: Authenticator): (req: IncomingMessage) => Promise<Subject> {
  return async (req) => {
    try {
      return await auth.authenticate(req);
    } catch (e) {
      if (e instanceof AuthError)
        throw new AuthenticationRequired(e.description, e.wwwAuthenticate, e.status);
      throw e;
    }
  };
}

/** RFC 9728 metadata at the bare well-known path and the `/mcp`-suffixed one. */
export function resourceMetadataRoutes(cfg: ResourceMetadataConfig): HttpRoute[] {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handleResourceMetadata(cfg, req, res);
  };
  return [
    { path: RESOURCE_METADATA_PATH, handler },
    { path: `${RESOURCE_METADATA_PATH}/mcp`, handler },
  ];
}
