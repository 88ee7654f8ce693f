// The /metrics listener: a separate port so scraping never shares the client-facing front door.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WardenMetrics } from "./registry.js";

export interface MetricsServerOptions {
  host?: string;
  port?: number;
  path?: string;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the listener (default 127.0.0.1:9464/metrics; port 0 picks a free port). */
export async function startMetricsServer(
  metrics: WardenMetrics,
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const host = opts.host ?? "127.0.0.1";
  const path = opts.path ?? "/metrics";
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method !== "GET" || url.pathname !== path) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 9464, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
