// The 2026-07-28 revision on warden's stdio front door: `warden serve` as a child process, the
// v2 SDK client pinned to 2026-07-28 over its stdio transport, the echo fixture downstream.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineSplitter } from "../../src/upstream/ndjson.js";
import { FIXTURE, ROOT, textOf } from "./helpers.js";

const V = "2026-07-28";
const CLI = path.join(ROOT, "src/cli/index.ts");
let dir: string;
const wardenArgs = () => ["--import", "tsx", CLI, "serve", "--config", path.join(dir, "warden.yaml")];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "warden-2026-stdio-"));
  writeFileSync(
    path.join(dir, "warden.yaml"),
    `servers:
  fx:
    command: ${JSON.stringify(process.execPath)}
    args: ["--import", "tsx", ${JSON.stringify(FIXTURE)}]
    cwd: ${JSON.stringify(ROOT)}
    env: { FIXTURE_NAME: fx }
registry: { dir: reg }
`,
  );
  const reg = path.join(dir, "reg");
  mkdirSync(reg);
  writeFileSync(path.join(reg, "dev.yaml"), `servers:\n  fx: { tools: ["*"] }\n`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("2026-07-28 clients over stdio", () => {
  it("serves a pinned v2 client: discover, lists, calls, input_required rounds, listen", async () => {
    const client = new Client(
      { name: "v2-stdio", version: "1" },
      { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: V } } },
    );
    client.setRequestHandler("sampling/createMessage", async () => ({
      model: "m",
      role: "assistant",
      content: { type: "text", text: "over stdio" },
    }));
    client.setRequestHandler("elicitation/create", async () => ({
      action: "accept",
      content: { name: "sam" },
    }));
    const updates: unknown[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params));
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: wardenArgs(),
        cwd: ROOT,
        stderr: "ignore",
      }),
    );
    try {
      expect(client.getServerVersion()?.name).toBe("mcp-warden");
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("fx__echo");
      expect(textOf(await client.callTool({ name: "fx__echo", arguments: { text: "s" } }))).toBe("fx: s");
      expect(textOf(await client.callTool({ name: "fx__sample", arguments: {} }))).toBe(
        "sampled: over stdio",
      );
      expect(textOf(await client.callTool({ name: "fx__elicit", arguments: {} }))).toBe(
        'elicited: {"name":"sam"}',
      );
      const sub = await client.listen({ resourceSubscriptions: ["fx://static/a"] });
      expect(sub.honoredFilter).toEqual({ resourceSubscriptions: ["fx://static/a"] });
      for (let i = 0; i < 50 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(updates[0]).toMatchObject({ uri: "fx://static/a" });
      await sub.close();
    } finally {
      await client.close();
    }
  });

  it("decides the era by the opening message", async () => {
    const child = spawn(process.execPath, wardenArgs(), { cwd: ROOT, stdio: ["pipe", "pipe", "ignore"] });
    const answers: Array<Record<string, unknown>> = [];
    child.stdout.on(
      "data",
      lineSplitter((line) => answers.push(JSON.parse(line))),
    );
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    // Generous: the first answer waits for warden and its downstream to start on a loaded machine.
    const answer = async (id: number, waitMs = 60_000) => {
      for (let i = 0; i < waitMs / 50; i++) {
        const a = answers.find((x) => x.id === id);
        if (a) return a as { result?: Record<string, unknown>; error?: { code: number; message: string } };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer for ${id}`);
    };
    const meta = {
      "io.modelcontextprotocol/protocolVersion": V,
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    try {
      send({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta } });
      expect((await answer(1)).result).toMatchObject({ resultType: "complete", cacheScope: "private" });
      // A modern connection has no handshake, and every request needs its envelope.
      send({
        jsonrpc: "2.0",
        id: 2,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
      });
      expect((await answer(2)).error?.code).toBe(-32601);
      send({ jsonrpc: "2.0", id: 3, method: "tools/list" });
      expect((await answer(3)).error?.code).toBe(-32602);
      send({
        jsonrpc: "2.0",
        id: 4,
        method: "tools/list",
        params: { _meta: { ...meta, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
      });
      expect((await answer(4)).error?.code).toBe(-32022);
      // notifications/cancelled cancels a request: no answer comes for it.
      send({
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: { name: "fx__slow", arguments: { ms: 2000 }, _meta: meta },
      });
      await new Promise((r) => setTimeout(r, 150));
      send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 5 } });
      send({
        jsonrpc: "2.0",
        id: 6,
        method: "tools/call",
        params: { name: "fx__echo", arguments: { text: "after" }, _meta: meta },
      });
      expect((await answer(6)).result?.content).toEqual([{ type: "text", text: "fx: after" }]);
      await new Promise((r) => setTimeout(r, 2500));
      expect(answers.find((a) => a.id === 5)).toBeUndefined();
    } finally {
      child.kill();
    }
  });
});
