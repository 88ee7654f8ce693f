// Config validation, tool listing, the memory-cap rewriter and `warden sandbox run`.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSandboxCommand } from "../../src/cli/commands/sandbox.js";
import { createSandboxProvider, parseSandboxConfig } from "../../src/sandbox/index.js";
import { capModuleMemory, MemoryCapError } from "../../src/sandbox/memory-cap.js";
import { compileC, makeScratch, repoRoot } from "./support.js";

// The project's lib settings type WebAssembly as a namespace only; the runtime has it.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  Module: { imports(m: object): Array<{ module: string; name: string }> };
  instantiate(m: object, imports: object): Promise<{ exports: Record<string, unknown> }>;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const hello = () => compileC("sandboxes/hello/hello.c");
const baseOpts = { dir: [], env: [] };

describe("sandbox config", () => {
  it("applies defaults", () => {
    const cfg = parseSandboxConfig({});
    expect(cfg).toMatchObject({
      name: "sandbox",
      poolSize: 2,
      javascript: { enabled: true },
      python: { enabled: true },
      tools: [],
    });
  });

  it("rejects bad input with every problem named", () => {
    expect(() =>
      parseSandboxConfig({
        poolSize: 0,
        tools: [
          { name: "bad name!", wasm: "" },
          { name: "run_python", wasm: "x.wasm" },
        ],
        extra: 1,
      }),
    ).toThrowError(/poolSize.*tools\.0\.name.*tools\.0\.wasm|tools\.1\.name/s);
    expect(() => parseSandboxConfig({ limits: { timeoutMs: -1 } })).toThrowError(/limits\.timeoutMs/);
    expect(() =>
      parseSandboxConfig({ tools: [{ name: "t", wasm: "t.wasm", env: { "BAD-NAME": "x" } }] }),
    ).toThrowError(/env/);
  });

  it("refuses a python memory cap too small for pyodide", () => {
    expect(() => createSandboxProvider({ python: { limits: { memoryMiB: 32 } } })).toThrowError(
      /at least 160/,
    );
  });
});

describe("sandbox provider", () => {
  const provider = createSandboxProvider({
    name: "code",
    python: { enabled: false },
    javascript: { enabled: false },
    tools: [
      {
        name: "hello",
        description: "Greets",
        wasm: "sandboxes/hello/hello.c.wasm-does-not-exist",
        inputSchema: { type: "object", properties: { name: { type: "string" } } },
      },
    ],
  });
  afterAll(() => provider.close());

  it("lists its tools with their schemas", async () => {
    expect(provider.name).toBe("code");
    expect(await provider.listTools()).toEqual([
      {
        name: "hello",
        description: "Greets",
        inputSchema: { type: "object", properties: { name: { type: "string" } } },
      },
    ]);
  });

  it("turns a missing module, an unknown tool and bad arguments into tool errors", async () => {
    const signal = new AbortController().signal;
    const missing = await provider.callTool("hello", {}, signal);
    expect(missing.isError).toBe(true);
    expect(missing.content[0].text).toMatch(/^sandbox error: cannot load .*does-not-exist/);
    const unknown = await provider.callTool("nope", {}, signal);
    expect(unknown.content[0].text).toContain('unknown sandbox tool "nope"');
    const notObject = await provider.callTool("hello", [] as unknown as Record<string, unknown>, signal);
    expect(notObject.content[0].text).toContain("arguments must be an object");
  });

  it("refuses a broken component or a non-wasm file with a clear reason", async () => {
    const scratch = makeScratch();
    const notWasm = join(scratch.root, "x.wasm");
    writeFileSync(notWasm, "hello");
    const component = join(scratch.root, "c.wasm");
    writeFileSync(component, Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]));
    const p = createSandboxProvider({
      python: { enabled: false },
      javascript: { enabled: false },
      tools: [
        { name: "notwasm", wasm: notWasm },
        { name: "component", wasm: component },
      ],
    });
    try {
      expect((await p.run("notwasm", {})).reason).toContain("not a wasm binary");
      expect((await p.run("component", {})).reason).toMatch(/^cannot load component .*c\.wasm/);
    } finally {
      await p.close();
    }
  });
});

describe("memory cap rewriter", () => {
  it("caps a module's memory so growth past the cap fails", async () => {
    const bytes = readFileSync(hello());
    const capped = capModuleMemory(bytes, 40);
    const mod = await Wasm.compile(capped);
    const imports: Record<string, Record<string, unknown>> = {};
    for (const imp of Wasm.Module.imports(mod)) {
      imports[imp.module] ??= {};
      imports[imp.module][imp.name] = () => 0;
    }
    const instance = await Wasm.instantiate(mod, imports);
    const memory = instance.exports.memory as { buffer: ArrayBuffer; grow(pages: number): number };
    const pages = memory.buffer.byteLength / 65_536;
    expect(memory.grow(40 - pages)).toBe(pages);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it("refuses modules that need more than the cap at start, and garbage", () => {
    const bytes = readFileSync(hello());
    expect(() => capModuleMemory(bytes, 1)).toThrowError(MemoryCapError);
    expect(() => capModuleMemory(new Uint8Array([1, 2, 3]), 10)).toThrowError(/not a wasm binary/);
    expect(() => capModuleMemory(bytes.subarray(0, bytes.length - 5), 100)).toThrowError(/truncated/);
  });
});

describe("warden sandbox run", () => {
  it("runs a .wasm with argv, env, stdin and a read-only dir", async () => {
    const scratch = makeScratch();
    const out = await runSandboxCommand(hello(), ["CLI"], {
      ...baseOpts,
      env: ["GREETING=Hey"],
      stdin: "piped\n",
      dir: [`${scratch.data}:/data`],
    });
    expect(out).toMatchObject({ status: "ok", stdout: "Hey, CLI!\npiped\n", exitCode: 0 });
  });

  it("runs a configured tool from a YAML config with --args-json", async () => {
    const scratch = makeScratch();
    const cfg = join(scratch.root, "warden.yaml");
    writeFileSync(
      cfg,
      `sandbox:\n  tools:\n    - name: greet\n      wasm: ${hello()}\n      args: ["{who}"]\n`,
    );
    const out = await runSandboxCommand("greet", [], {
      ...baseOpts,
      config: cfg,
      argsJson: '{"who":"YAML"}',
    });
    expect(out.stdout).toBe("Hello, YAML!\n");
  });

  it("rejects bad flags clearly", async () => {
    await expect(runSandboxCommand(hello(), [], { ...baseOpts, timeout: "soon" })).rejects.toThrow(
      /--timeout must be a positive integer/,
    );
    await expect(runSandboxCommand(hello(), [], { ...baseOpts, env: ["NOEQUALS"] })).rejects.toThrow(
      /--env expects NAME=value/,
    );
  });

  it("works end to end through the CLI binary, with the program's exit code", () => {
    const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
    const ok = execFileSync(tsx, ["src/cli/index.ts", "sandbox", "run", hello(), "bin"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(ok).toBe("Hello, bin!\n");
    const trap = spawnSync(
      tsx,
      ["src/cli/index.ts", "sandbox", "run", compileC("test/sandbox/escape/trap.c"), "exit"],
      {
        cwd: repoRoot,
        encoding: "utf8",
      },
    );
    expect(trap.status).toBe(42);
    expect(trap.stderr).toContain("[exit_nonzero] exit code 42");
  }, 120_000);
});

describe("sandbox metrics", () => {
  it("counts runs by runtime and status", async () => {
    const { Registry } = await import("prom-client");
    const { sandboxMetrics } = await import("../../src/sandbox/index.js");
    const registry = new Registry();
    const p = createSandboxProvider(
      {
        python: { enabled: false },
        javascript: { enabled: false },
        tools: [
          { name: "hello", wasm: hello() },
          { name: "spin", wasm: compileC("test/sandbox/escape/spin.c"), limits: { timeoutMs: 200 } },
        ],
      },
      { onOutcome: sandboxMetrics(registry) },
    );
    try {
      await p.run("hello", {});
      await p.run("spin", {});
      const text = await registry.metrics();
      expect(text).toContain('sandbox_runs_total{runtime="wasm",status="ok"} 1');
      expect(text).toContain('sandbox_runs_total{runtime="wasm",status="timeout"} 1');
      expect(text).toContain('sandbox_run_duration_seconds_count{runtime="wasm"} 2');
    } finally {
      await p.close();
    }
  });
});

describe("shipped samples", () => {
  it("the example sandbox config is valid and the wc sample counts files in its read-only dir", async () => {
    const { parse } = await import("yaml");
    const doc = parse(readFileSync(join(repoRoot, "sandboxes", "tools.example.yaml"), "utf8")) as {
      sandbox: unknown;
    };
    const cfg = parseSandboxConfig(doc.sandbox);
    expect(cfg.tools.map((t) => t.name)).toEqual(["hello", "wc"]);
    const wcTool = cfg.tools[1];
    const p = createSandboxProvider({
      python: { enabled: false },
      javascript: { enabled: false },
      baseDir: join(repoRoot, "sandboxes"),
      tools: [{ ...wcTool, wasm: compileC("sandboxes/wc/wc.c") }],
    });
    try {
      const r = await p.run("wc", { files: ["/data/LICENSE"] });
      expect(r.stdout).toMatch(/^\d+ \d+ \d+ \/data\/LICENSE\n$/);
      const outside = await p.run("wc", { files: ["/data/../../etc/passwd"] });
      expect(outside.status).toBe("exit_nonzero");
      expect(outside.stderr).toContain("Capabilities insufficient");
    } finally {
      await p.close();
    }
  });
});

describe("run_python without its confinement", () => {
  it("says why when unshare is missing or the host is not Linux", async () => {
    const { probeConfinement } = await import("../../src/sandbox/python-runner.js");
    expect(probeConfinement("/nonexistent/unshare")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("unshare -rn"),
    });
    expect(probeConfinement("unshare", "darwin")).toEqual({
      ok: false,
      reason: "run_python needs Linux namespaces (unshare -rn); this host is darwin",
    });
  });

  it("is not listed, and a call returns the reason instead of running unconfined", async () => {
    const reason = "run_python needs Linux namespaces (unshare -rn); this host is darwin";
    const p = createSandboxProvider(
      { javascript: { enabled: false } },
      { pythonConfinement: { ok: false, reason } },
    );
    try {
      expect(p.unavailable).toEqual({ run_python: reason });
      expect(await p.listTools()).toEqual([]);
      const res = await p.callTool("run_python", { code: "1" }, new AbortController().signal);
      expect(res.isError).toBe(true);
      expect(res.content[0].text).toContain(reason);
    } finally {
      await p.close();
    }
  });
});

describe("per-call limits", () => {
  it("can only tighten the configured limits", async () => {
    const p = createSandboxProvider({
      python: { enabled: false },
      javascript: { enabled: false },
      tools: [{ name: "spin", wasm: compileC("test/sandbox/escape/spin.c"), limits: { timeoutMs: 400 } }],
    });
    try {
      expect((await p.run("spin", {}, undefined, { timeoutMs: 100 })).reason).toContain("100 ms");
      expect((await p.run("spin", {}, undefined, { timeoutMs: 60_000 })).reason).toContain("400 ms");
    } finally {
      await p.close();
    }
  });
});
