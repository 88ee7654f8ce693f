// Shared helpers for the proxy integration tests: fixture servers, in-process wardens, SDK clients.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Stage } from "../../src/pipeline/types.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { silentLogger } from "../../src/server/logger.js";
import { createWarden, type Warden } from "../../src/server/warden.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURE = path.join(ROOT, "test/fixtures/servers/echo-server.ts");

/** A stdio server entry running the echo fixture. */
export function fixture(name: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: ["--import", "tsx", FIXTURE],
    cwd: ROOT,
    env: { FIXTURE_NAME: name, ...env },
    restart: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 0 },
    ...extra,
  };
}

export async function makeWarden(opts: {
  servers: Record<string, unknown>;
  registry: Record<string, unknown>;
  stages?: Stage[];
  http?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}): Promise<Warden> {
  return createWarden({
    config: { servers: opts.servers, http: opts.http ?? {}, ...opts.extra },
    env: "test",
    registry: parseRegistry(opts.registry, "test"),
    stages: opts.stages,
    log: silentLogger,
  });
}

/** An SDK client that answers sampling/elicitation/roots with its own label, to prove routing. */
export async function httpClient(url: string, label: string, kind: "streamable" | "sse" = "streamable") {
  const client = new Client(
    { name: label, version: "1" },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: label,
    role: "assistant",
    content: { type: "text", text: `answer from ${label}` },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: label } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: `file:///${label}` }] }));
  const transport =
    kind === "sse"
      ? new SSEClientTransport(new URL(`${url}/sse`))
      : new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  return client;
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}
