import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceMetadataConfig } from "./config.js";

// RFC 9728 OAuth 2.0 Protected Resource Metadata, as the MCP authorization spec requires:
// clients discover the authorization server from here after a 401.

export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/** Base URL (scheme://host[:port]) of a request, from its Host header. */
export function requestOrigin(req: IncomingMessage): string {
  const host = req.headers.host ?? "127.0.0.1";
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${encrypted ? "https" : "http"}://${host}`;
}

/** The resource identifier: configured, else derived from the request (<origin>/mcp). */
export function resourceUrl(cfg: ResourceMetadataConfig, req?: IncomingMessage): string {
  if (cfg.resource) return cfg.resource;
  return `${req ? requestOrigin(req) : "http://127.0.0.1"}/mcp`;
}

/** URL of the metadata document for a resource: the well-known path inserted before the resource path. */
export function resourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  return `${u.origin}${RESOURCE_METADATA_PATH}${path}`;
}

export function resourceMetadataDocument(
  cfg: ResourceMetadataConfig,
  req?: IncomingMessage,
): Record<string, unknown> {
  return {
    resource: resourceUrl(cfg, req),
    authorization_servers: cfg.authorizationServers,
    bearer_methods_supported: ["header"],
    ...(cfg.scopesSupported.length ? { scopes_supported: cfg.scopesSupported } : {}),
    resource_name: cfg.resourceName,
    ...(cfg.resourceDocumentation ? { resource_documentation: cfg.resourceDocumentation } : {}),
  };
}

/**
 * Serves the metadata document; returns false when the request is for another path.
 * Answers both the bare well-known path and the path-suffixed form (`…/oauth-protected-resource/mcp`).
 */
export function handleResourceMetadata(
  cfg: ResourceMetadataConfig,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const path = (req.url ?? "/").split("?")[0];
  if (path !== RESOURCE_METADATA_PATH && !path.startsWith(`${RESOURCE_METADATA_PATH}/`)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return true;
  }
  const body = JSON.stringify(resourceMetadataDocument(cfg, req));
  res.writeHead(200, {
    "content-type": "application/json",
    "cache-control": "max-age=300",
    "access-control-allow-origin": "*",
  });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}
