// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:...} and ${bin:...} are warden.yaml reference syntax, not template literals.
// Downstream failures: a server that dies mid-call is reported, restarted with backoff and usable again;
// pagination cursors survive aggregation; remote (Streamable HTTP) downstreams work like stdio ones.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Warden } from "../../src/server/warden.js";
import { FIXTURE, fixture, httpClient, makeWarden, ROOT, textOf } from "./helpers.js";

let warden: Warden;
let url: string;
let remote: ChildProcess;
let legacy: ChildProcess;

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  // A downstream that speaks Streamable HTTP itself.
  remote = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, FIXTURE_NAME: "remote", FIXTURE_HTTP_PORT: "0" },
  });
  const port = await new Promise<number>((resolve, reject) => {
    remote.stdout?.on("data", (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    remote.once("exit", () => reject(new Error("remote fixture exited")));
  });
  // server-everything in its legacy HTTP+SSE mode (protocol 2024-11-05 transport).
  const ssePort = await freePort();
  const { createRequire } = await import("node:module");
  const everything = createRequire(import.meta.url).resolve(
    "@modelcontextprotocol/server-everything/dist/index.js",
  );
  legacy = spawn(process.execPath, [everything, "sse"], { env: { ...process.env, PORT: String(ssePort) } });
  await new Promise<void>((resolve, reject) => {
    legacy.stderr?.on("data", (d: Buffer) => {
      if (d.toString().includes("running on port")) resolve();
    });
    legacy.once("exit", () => reject(new Error("server-everything sse exited")));
  });
  process.env.WARDEN_TEST_TOKEN = "s3cret-token";
  warden = await makeWarden({
    servers: {
      fragile: fixture("fragile", { timeoutMs: 30_000 }),
      paged: fixture("paged", {}, { PAGE_SIZE: "4" }),
      remote: {
        url: `http://127.0.0.1:${port}/mcp`,
        headers: { Authorization: "Bearer ${env:WARDEN_TEST_TOKEN}" },
      },
      legacy: { url: `http://127.0.0.1:${ssePort}/sse`, transport: "sse" },
      legacycap: { url: `http://127.0.0.1:${ssePort}/sse`, transport: "sse", maxAnswerBytes: 65_536 },
    },
    registry: {
      servers: {
        fragile: { tools: ["echo", "die", "whoami", "slow"] },
        paged: { tools: ["*"] },
        remote: { tools: ["echo", "sample"] },
        legacy: { tools: ["echo", "get-sum"] },
        legacycap: { tools: ["echo"] },
      },
    },
  });
  url = (await warden.listenHttp({ port: 0 })).url;
});

afterAll(async () => {
  await warden?.close();
  remote?.kill();
  legacy?.kill();
});

describe("downstream failures", () => {
  it("reports a server that dies mid-call, restarts it and serves the next call", async () => {
    const client = await httpClient(url, "crash");
    const before = textOf(await client.callTool({ name: "fragile__whoami" }));
    await expect(client.callTool({ name: "fragile__die", arguments: {} })).rejects.toThrow(
      /server 'fragile' exited \(code 3\) before answering/,
    );
    // The restart happens in the background with backoff; the next call waits for it.
    const after = textOf(await client.callTool({ name: "fragile__whoami" }));
    expect(after).toMatch(/^fragile pid \d+/);
    expect(after).not.toBe(before);
    const status = warden.status().find((s) => s.name === "fragile");
    expect(status?.state).toBe("ready");
    expect(status?.restarts).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  it("forwards cancellation to the downstream", async () => {
    const client = await httpClient(url, "cancel");
    const ac = new AbortController();
    const call = client.callTool({ name: "fragile__slow", arguments: { ms: 400, tag: "c1" } }, undefined, {
      signal: ac.signal,
    });
    setTimeout(() => ac.abort("user gave up"), 100);
    await expect(call).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 500));
    expect(textOf(await client.callTool({ name: "fragile__whoami" }))).toMatch(/cancelled=c1/);
    await client.close();
  });
});

describe("pagination and namespacing", () => {
  it("preserves a paginating downstream's pages behind one cursor", async () => {
    const client = await httpClient(url, "pager");
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBeGreaterThan(2);
    const paged = names.filter((n) => n.startsWith("paged__"));
    expect(paged).toHaveLength(12);
    expect(new Set(names).size).toBe(names.length);
    // Same tool name on five servers: five distinct namespaced tools.
    expect(names.filter((n) => n.endsWith("__echo")).sort()).toEqual([
      "fragile__echo",
      "legacy__echo",
      "legacycap__echo",
      "paged__echo",
      "remote__echo",
    ]);
    await expect(client.listTools({ cursor: "garbage" })).rejects.toThrow(/Invalid cursor/);
    await client.close();
  });
});

describe("remote Streamable HTTP downstream", () => {
  it("forwards calls and server→client requests over HTTP with resolved headers", async () => {
    const client = await httpClient(url, "remote-user");
    expect(textOf(await client.callTool({ name: "remote__echo", arguments: { text: "via http" } }))).toBe(
      "remote: via http",
    );
    expect(textOf(await client.callTool({ name: "remote__sample", arguments: {} }))).toBe(
      "sampled: answer from remote-user",
    );
    await client.close();
  });

  it("forwards to a legacy HTTP+SSE downstream (server-everything sse)", async () => {
    const client = await httpClient(url, "legacy-user");
    expect(textOf(await client.callTool({ name: "legacy__get-sum", arguments: { a: 2, b: 3 } }))).toMatch(
      /5/,
    );
    await client.close();
  });

  it("closes a legacy SSE connection whose event outgrows maxAnswerBytes, fails the call, reconnects", async () => {
    const client = await httpClient(url, "legacy-cap-user");
    await expect(
      client.callTool({ name: "legacycap__echo", arguments: { message: "x".repeat(100_000) } }),
    ).rejects.toThrow(
      /server 'legacycap' sent a message of more than 65536 bytes, over its maxAnswerBytes limit of 65536; it was dropped, and the legacy SSE connection closed/,
    );
    // The next call waits for the reconnect (a new legacy session) and is answered.
    expect(
      textOf(await client.callTool({ name: "legacycap__echo", arguments: { message: "small" } })),
    ).toMatch(/small/);
    await client.close();
  });

  it("never shows header secrets in the printable config", () => {
    const masked = warden.loaded.masked.servers.remote as { headers: Record<string, string> };
    expect(masked.headers.Authorization).toBe("Bearer ${env:WARDEN_TEST_TOKEN}");
    expect(JSON.stringify(warden.loaded.masked)).not.toContain("s3cret-token");
  });
});
