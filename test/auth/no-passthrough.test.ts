// Token passthrough is forbidden: the client's credential authenticates it to warden and stops
// there. A remote downstream over Streamable HTTP records every request header it receives.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { parseAuthConfig } from "../../src/auth/config.js";
import { frontDoorAuthenticate } from "../../src/auth/frontDoor.js";
import { KeyStore } from "../../src/auth/keyStore.js";
import { parseRegistry } from "../../src/registry/registry.js";
import type { HttpFrontDoor } from "../../src/server/http.js";
import { silentLogger } from "../../src/server/logger.js";
import { createWarden, type Warden } from "../../src/server/warden.js";

const seenHeaders: IncomingHttpHeaders[] = [];
let downstream: Server;
let warden: Warden;
let door: HttpFrontDoor;
let token: string;

beforeAll(async () => {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  downstream = createServer(async (req, res) => {
    seenHeaders.push(req.headers);
    const sid = req.headers["mcp-session-id"];
    let transport = typeof sid === "string" ? transports.get(sid) : undefined;
    if (!transport) {
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          transports.set(id, t);
        },
      });
      const server = new McpServer({ name: "recorder", version: "1" });
      server.registerTool("ping", { description: "answers pong" }, async () => ({
        content: [{ type: "text", text: "pong" }],
      }));
      await server.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => downstream.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/mcp`;

  const dir = mkdtempSync(join(tmpdir(), "warden-passthrough-"));
  const keys = new KeyStore(join(dir, "keys.json"));
  token = keys.create({ name: "agent", tenant: "acme" }).token;
  warden = await createWarden({
    config: { servers: { rec: { url, headers: { "x-downstream-credential": "configured-for-rec" } } } },
    env: "test",
    registry: parseRegistry({ servers: { rec: { tools: ["ping"] } } }, "test"),
    log: silentLogger,
  });
  const auth = createAuthenticator(parseAuthConfig({ stateDir: dir }), { keyStore: keys });
  door = await warden.listenHttp({ port: 0, authenticate: frontDoorAuthenticate(auth) });
});

afterAll(async () => {
  await warden?.close();
  downstream?.closeAllConnections();
  await new Promise((r) => downstream?.close(r));
});

describe("no token passthrough", () => {
  it("the downstream gets its configured credential, never the client's token", async () => {
    const client = new Client({ name: "agent", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}`, "x-api-key": token } },
      }),
    );
    const r = (await client.callTool({ name: "rec__ping", arguments: {} })) as {
      content: Array<{ text: string }>;
    };
    expect(r.content[0].text).toBe("pong");
    await client.close();
    expect(seenHeaders.length).toBeGreaterThan(0);
    for (const h of seenHeaders) {
      expect(JSON.stringify(h)).not.toContain(token);
      expect(h.authorization).toBeUndefined();
      expect(h["x-downstream-credential"]).toBe("configured-for-rec");
    }
  });
});
