// Through `warden serve` over stdio (a real child process) to the real npm MCP servers.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineSplitter } from "../../src/upstream/ndjson.js";
import { ROOT, textOf } from "./helpers.js";

const CLI = path.join(ROOT, "src/cli/index.ts");
let dir: string;
let client: Client;

function wardenArgs(...extra: string[]) {
  return ["--import", "tsx", CLI, "serve", "--config", path.join(dir, "warden.yaml"), ...extra];
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "warden-stdio-"));
  writeFileSync(
    path.join(dir, "warden.yaml"),
    `servers:
  filesystem:
    command: node
    args: ["\${bin:@modelcontextprotocol/server-filesystem}", "\${configDir}/sandbox"]
    createDirs: ["\${configDir}/sandbox"]
  memory:
    command: node
    args: ["\${bin:@modelcontextprotocol/server-memory}"]
    env: { MEMORY_FILE_PATH: "\${configDir}/memory.jsonl" }
  everything:
    command: node
    args: ["\${bin:@modelcontextprotocol/server-everything}", "stdio"]
    isolation: per-session
identity:
  stdio: { user: alice, tenant: acme }
registry: { dir: reg }
`,
  );
  // The tool registry lives in reg/dev.yaml (registry.dir), relative to the config.
  mkdirSync(path.join(dir, "reg"));
  writeFileSync(
    path.join(dir, "reg", "dev.yaml"),
    `servers:
  filesystem: { tools: ["{read_text_file,write_file,list_allowed_directories}"] }
  memory: { tools: [{ name: "*", risk: medium }] }
  everything: { tools: [echo, trigger-sampling-request, trigger-long-running-operation] }
`,
  );
  client = new Client({ name: "stdio-test", version: "1" }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: "test",
    role: "assistant",
    content: { type: "text", text: "sampled over stdio" },
  }));
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: wardenArgs(), cwd: ROOT, stderr: "ignore" }),
  );
});

afterAll(async () => {
  await client?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("warden serve over stdio with the real npm servers", () => {
  it("lists exactly the registry's tools, namespaced", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toContain("filesystem__read_text_file");
    expect(names).toContain("filesystem__write_file");
    expect(names).toContain("memory__create_entities");
    expect(names).toContain("everything__echo");
    expect(names).not.toContain("filesystem__move_file");
    expect(names).not.toContain("everything__get-env");
  });

  it("writes and reads a file inside the filesystem sandbox only", async () => {
    const file = path.join(dir, "sandbox", "hello.txt");
    await client.callTool({
      name: "filesystem__write_file",
      arguments: { path: file, content: "hi warden" },
    });
    expect(readFileSync(file, "utf8")).toBe("hi warden");
    expect(
      textOf(await client.callTool({ name: "filesystem__read_text_file", arguments: { path: file } })),
    ).toBe("hi warden");
    const outside = await client.callTool({
      name: "filesystem__read_text_file",
      arguments: { path: "/etc/hostname" },
    });
    expect(outside.isError).toBe(true);
    expect(textOf(outside)).toMatch(/denied|outside allowed/i);
  });

  it("refuses a tool the registry does not list", async () => {
    await expect(client.callTool({ name: "filesystem__move_file", arguments: {} })).rejects.toThrow(
      /refused by registry/,
    );
  });

  it("keeps memory across calls", async () => {
    await client.callTool({
      name: "memory__create_entities",
      arguments: { entities: [{ name: "warden", entityType: "proxy", observations: ["guards MCP"] }] },
    });
    expect(textOf(await client.callTool({ name: "memory__read_graph", arguments: {} }))).toContain(
      "guards MCP",
    );
  });

  it("routes everything's sampling request back to this stdio client", async () => {
    const r = await client.callTool({
      name: "everything__trigger-sampling-request",
      arguments: { prompt: "x", maxTokens: 5 },
    });
    expect(textOf(r)).toContain("sampled over stdio");
  });

  it("relays progress notifications", async () => {
    const seen: number[] = [];
    await client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 1.5, steps: 3 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    );
    // The SDK client runs notification handlers a microtask late but settles responses at once, so it
    // drops progress that arrives in the same read as the result (not warden's doing): expect an in-order prefix.
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual([1, 2, 3].slice(0, seen.length));
  });
});

describe("stdio bad input", () => {
  let child: ChildProcessWithoutNullStreams;
  const replies: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const waitFor = async (pred: (m: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 1600; i++) {
      const hit = replies.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no reply; warden stderr: ${stderr.join("").slice(-2000)}`);
  };

  beforeAll(() => {
    // No downstream servers: this warden only has to parse and answer.
    mkdirSync(path.join(dir, "empty", "tool-registry"), { recursive: true });
    writeFileSync(path.join(dir, "empty", "warden.yaml"), "servers: {}\n");
    writeFileSync(path.join(dir, "empty", "tool-registry", "dev.yaml"), "servers: {}\n");
    const args = ["--import", "tsx", CLI, "serve", "--config", path.join(dir, "empty", "warden.yaml")];
    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    child.stderr.on("data", (d: Buffer) => stderr.push(d.toString()));
    child.stdout.on(
      "data",
      lineSplitter((l) => replies.push(JSON.parse(l))),
    );
  });
  afterAll(() => {
    child?.stdin.end();
  });

  it("answers malformed JSON, envelopes and unknown methods with JSON-RPC errors and keeps serving", {
    timeout: 90_000,
  }, async () => {
    child.stdin.write("{this is not json\n");
    const parse = await waitFor((m) => m.id === null && (m.error as { code: number })?.code === -32700);
    expect((parse.error as { message: string }).message).toMatch(/Parse error/);
    child.stdin.write(`${JSON.stringify({ jsonrpc: "1.0", id: 7, method: "ping" })}\n`);
    expect(((await waitFor((m) => m.id === 7)).error as { code: number }).code).toBe(-32600);
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 8, method: "no/such/method" })}\n`);
    expect(((await waitFor((m) => m.id === 8)).error as { code: number }).code).toBe(-32601);
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 9, method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "raw", version: "1" } } })}\n`,
    );
    expect(((await waitFor((m) => m.id === 9)).result as { protocolVersion: string }).protocolVersion).toBe(
      "2024-11-05",
    );
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 10, method: "ping" })}\n`);
    expect((await waitFor((m) => m.id === 10)).result).toEqual({});
  });
});
