// User tools as WASI 0.2 command components (C compiled to wasm32-wasi, wrapped with
// jco's preview1 command adapter at test time), served by warden's own component host.
import { readFileSync, writeFileSync } from "node:fs";
import { componentNew, preview1AdapterCommandPath } from "@bytecodealliance/jco";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxProvider, type SandboxProvider } from "../../src/sandbox/index.js";
import { compileC, makeScratch, testCacheDir } from "./support.js";

const ESCAPES = ["env_leak", "spin", "read_outside", "sockets", "flood", "state"] as const;
let provider: SandboxProvider;

async function component(src: string): Promise<string> {
  const core = compileC(src);
  const out = core.replace(/\.wasm$/, ".component.wasm");
  const adapter = readFileSync(preview1AdapterCommandPath());
  writeFileSync(out, await componentNew(readFileSync(core), [["wasi_snapshot_preview1", adapter]]));
  return out;
}

beforeAll(async () => {
  process.env.WARDEN_TEST_HOST_SECRET = "host-secret-value";
  const hello = await component("sandboxes/hello/hello.c");
  const escapes = [];
  for (const n of ESCAPES)
    escapes.push({ name: n, wasm: await component(`test/sandbox/escape/${n}.c`), args: ["{...argv}"] });
  provider = createSandboxProvider({
    cacheDir: testCacheDir,
    python: { enabled: false },
    javascript: { enabled: false },
    poolSize: 2,
    limits: { timeoutMs: 10_000, memoryMiB: 32, maxOutputBytes: 2_048 },
    tools: [
      { name: "hello", wasm: hello, args: ["{name}"], stdinFrom: "text", env: { GREETING: "Hi" } },
      { name: "hello_with_dir", wasm: hello, readOnlyDirs: [makeScratch().data] },
      ...escapes,
    ],
  });
}, 180_000);

afterAll(async () => {
  await provider?.close();
  delete process.env.WARDEN_TEST_HOST_SECRET;
});

describe("component tools (wasi:cli/run)", { timeout: 60_000 }, () => {
  it("runs with argv, env and stdin", async () => {
    const r = await provider.run("hello", { name: "Component", text: "via stdin\n" });
    expect(r).toMatchObject({ status: "ok", stdout: "Hi, Component!\nvia stdin\n", exitCode: 0 });
  });

  it("sees no host environment and only its own argv", async () => {
    const r = await provider.run("env_leak", { argv: ["one"] });
    expect(r.stdout).toBe("argv env_leak\nargv one\ncwd /\n");
  });

  it("has no file system and no sockets", async () => {
    const files = await provider.run("read_outside", {});
    expect(files.stdout).not.toContain("READ");
    expect(files.stdout.match(/: blocked errno=/g)).toHaveLength(6);
    const sockets = await provider.run("sockets", {});
    expect(sockets.stdout).not.toMatch(/: 0$/m);
  });

  it("refuses read-only directories clearly (not supported for components yet)", async () => {
    const r = await provider.run("hello_with_dir", {});
    expect(r.status).toBe("error");
    expect(r.reason).toContain("not supported for component tools");
  });

  it("gives every call a fresh instance, caps output and stops loops while serving others", async () => {
    for (let i = 0; i < 2; i++) expect((await provider.run("state", {})).stdout).toBe("runs=1\n");
    expect((await provider.run("flood", {})).status).toBe("output_limit");
    const spinning = provider.run("spin", {}, undefined, { timeoutMs: 2_000 });
    const normal = await provider.run("hello", { name: "meanwhile" });
    expect(normal.stdout).toBe("Hi, meanwhile!\n");
    expect((await spinning).status).toBe("timeout");
  });
});
