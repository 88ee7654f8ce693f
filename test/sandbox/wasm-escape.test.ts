// Escape suite for user .wasm tools (WASI preview1): every attempt must fail the expected
// way, and normal calls keep being served while a hostile one runs.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxProvider, type SandboxProvider } from "../../src/sandbox/index.js";
import { compileC, makeScratch } from "./support.js";

const PROGRAMS = [
  "read_outside",
  "mutate",
  "sockets",
  "alloc_bomb",
  "spin",
  "env_leak",
  "flood",
  "trap",
  "state",
];

let provider: SandboxProvider;
let scratch: ReturnType<typeof makeScratch>;
const tool = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  wasm: compileC(`test/sandbox/escape/${name}.c`),
  ...extra,
});

beforeAll(() => {
  scratch = makeScratch();
  process.env.WARDEN_TEST_HOST_SECRET = "host-secret-value";
  const hello = compileC("sandboxes/hello/hello.c");
  const dataDir = { host: scratch.data, guest: "/data" };
  provider = createSandboxProvider({
    python: { enabled: false },
    javascript: { enabled: false },
    poolSize: 2,
    // Roomy for a busy machine; the spinning calls get a tighter per-call limit below.
    limits: { timeoutMs: 10_000, memoryMiB: 32, maxOutputBytes: 4_096 },
    tools: [
      {
        name: "hello",
        wasm: hello,
        args: ["{name}"],
        stdinFrom: "text",
        env: { GREETING: "Hi" },
        inputSchema: {
          type: "object",
          properties: { name: { type: "string" }, text: { type: "string" } },
          required: ["name"],
        },
      },
      ...PROGRAMS.map((p) => tool(p, { readOnlyDirs: [dataDir], args: ["{...argv}"] })),
      tool("env_leak", { name: "env_leak_passenv", passEnv: ["WARDEN_TEST_HOST_SECRET"] }),
    ],
  });
  // Compiling ten C programs can be slow on a busy 2-core machine (cached afterwards).
}, 180_000);

afterAll(async () => {
  await provider?.close();
  delete process.env.WARDEN_TEST_HOST_SECRET;
});

const snapshot = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: false })
    .map(String)
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f), { throwIfNoEntry: false });
      return `${f}:${st?.size}:${st?.mtimeMs}`;
    });

describe("user .wasm tools (preview1)", () => {
  it("runs a normal tool with argv, env and stdin, and reports usage", async () => {
    const res = await provider.callTool(
      "hello",
      { name: "Ada", text: "from stdin\n" },
      new AbortController().signal,
    );
    expect(res.isError).toBeUndefined();
    expect(res.content[0].text).toBe("Hi, Ada!\nfrom stdin\n");
    const out = res.structuredContent as { exitCode: number; usage: { wallMs: number; memoryBytes: number } };
    expect(out.exitCode).toBe(0);
    expect(out.usage.memoryBytes).toBeGreaterThan(0);
  });

  it("refuses bad arguments with a clear error", async () => {
    const missing = await provider.callTool("hello", {}, new AbortController().signal);
    expect(missing.isError).toBe(true);
    expect(missing.content[0].text).toContain('missing required argument "name"');
    const wrongType = await provider.callTool("hello", { name: { x: 1 } }, new AbortController().signal);
    expect(wrongType.isError).toBe(true);
    expect(wrongType.content[0].text).toContain('"name" must be of type string');
  });

  it("cannot read outside its read-only directory (absolute, ../, symlinks)", async () => {
    const r = await provider.run("read_outside", {});
    expect(r.status).toBe("ok");
    expect(r.stdout).not.toContain("root:");
    for (const label of ["absolute", "dotdot", "relative_dotdot", "symlink_file", "symlink_dir"]) {
      expect(r.stdout).toMatch(new RegExp(`^${label}: blocked errno=76$`, "m"));
    }
    expect(r.stdout).toContain("allowed: READ 16 bytes: allowed content");
  });

  it("cannot create, write, truncate, delete, rename or link anything", async () => {
    const before = snapshot(scratch.data);
    const r = await provider.run("mutate", {});
    expect(r.status).toBe("ok");
    expect(r.stdout).not.toContain("DONE");
    expect(r.stdout.trim().split("\n")).toHaveLength(12);
    for (const line of r.stdout.trim().split("\n")) expect(line).toMatch(/: blocked errno=69$/);
    expect(snapshot(scratch.data)).toEqual(before);
    expect(readFileSync(join(scratch.data, "allowed.txt"), "utf8")).toBe("allowed content\n");
  });

  it("has no sockets", async () => {
    const r = await provider.run("sockets", {});
    expect(r.stdout).toBe("sock_accept: 58\nsock_send: 58\nsock_recv: 58\nsock_shutdown: 58\n");
  });

  it("stops an allocation bomb at the memory cap", async () => {
    const r = await provider.run("alloc_bomb", {});
    expect(r.status).toBe("out_of_memory");
    expect(r.reason).toContain("memory limit of 32 MiB");
    expect(r.stdout).toContain("memory.grow 65536 pages: -1");
    expect(r.usage.memoryBytes).toBeLessThanOrEqual(32 * 2 ** 20);
  });

  it("sees no host environment and only its own argv", async () => {
    const r = await provider.run("env_leak", { argv: ["one", "two"] });
    expect(r.stdout).toBe("argv env_leak\nargv one\nargv two\ncwd /\n");
    const passed = await provider.run("env_leak_passenv", {});
    expect(passed.stdout).toContain("env WARDEN_TEST_HOST_SECRET=host-secret-value");
    expect(passed.stdout.match(/^env /gm)).toHaveLength(1);
  });

  it("stops output floods at the byte cap", async () => {
    const r = await provider.run("flood", {});
    expect(r.status).toBe("output_limit");
    expect(r.stdout.length).toBeLessThanOrEqual(4_096);
  });

  it("reports traps and exit codes without affecting warden", async () => {
    const trap = await provider.callTool("trap", {}, new AbortController().signal);
    expect(trap.isError).toBe(true);
    expect(trap.content[0].text).toMatch(/^sandbox trap: wasm trap: unreachable/);
    const exit = await provider.run("trap", { argv: ["exit"] });
    expect(exit.status).toBe("exit_nonzero");
    expect(exit.exitCode).toBe(42);
    expect(exit.stdout).toBe("before\n");
  });

  it("gives every call a fresh instance", async () => {
    for (let i = 0; i < 3; i++) expect((await provider.run("state", {})).stdout).toBe("runs=1\n");
  });

  it("stops an infinite loop at the time limit while other calls keep being served", async () => {
    const spinning = provider.run("spin", {}, undefined, { timeoutMs: 1_500 });
    const spinning2 = provider.run("spin", {}, undefined, { timeoutMs: 1_500 });
    // Both pool workers are now busy spinning; normal calls queue, then run on fresh workers.
    const normal = await Promise.all([1, 2, 3].map((i) => provider.run("hello", { name: `n${i}` })));
    const [s1, s2] = await Promise.all([spinning, spinning2]);
    for (const s of [s1, s2]) {
      expect(s.status).toBe("timeout");
      expect(s.reason).toContain("1500 ms");
    }
    for (const [i, n] of normal.entries()) expect(n.stdout).toBe(`Hi, n${i + 1}!\n`);
    const again = await provider.run("hello", { name: "after" });
    expect(again.stdout).toBe("Hi, after!\n");
  });

  it("serves calls concurrently with a hostile one in flight", async () => {
    const spinning = provider.run("spin", {}, undefined, { timeoutMs: 1_500 });
    const normal = await provider.run("hello", { name: "meanwhile" });
    expect(normal.status).toBe("ok");
    expect((await spinning).status).toBe("timeout");
  });
});
