// Escape suite for run_python (pyodide in a confined single-use child process): the JS
// bridge is refused, the host has no network, files or environment to offer, runaway code
// is killed, and normal calls keep being served meanwhile.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxProvider, type SandboxProvider } from "../../src/sandbox/index.js";
import { checkPythonConfinement, confinedNodeCommand } from "../../src/sandbox/python-runner.js";
import { testCacheDir } from "./support.js";

let provider: SandboxProvider;
let hostFile: string;
const py = (code: string) => provider.run("run_python", { code });

beforeAll(() => {
  expect(checkPythonConfinement()).toEqual({ ok: true });
  hostFile = join(mkdtempSync(join(tmpdir(), "warden-py-")), "host.txt");
  writeFileSync(hostFile, "untouched\n");
  process.env.WARDEN_TEST_HOST_SECRET = "host-secret-value";
  provider = createSandboxProvider({
    cacheDir: testCacheDir,
    javascript: { enabled: false },
    // Roomy: importing socket/urllib takes seconds on a busy 2-core machine.
    python: { poolSize: 2, limits: { timeoutMs: 30_000, memoryMiB: 256, maxOutputBytes: 4_096 } },
  });
  void provider.warm();
});

afterAll(async () => {
  await provider?.close();
  delete process.env.WARDEN_TEST_HOST_SECRET;
});

// Each call boots a fresh pyodide child (seconds on a busy machine): generous per-test timeouts.
describe("run_python", { timeout: 120_000 }, () => {
  it("returns stdout, the result value and exit status", async () => {
    const res = await provider.callTool(
      "run_python",
      { code: "print('hi'); sum(range(10))" },
      new AbortController().signal,
    );
    expect(res.isError, JSON.stringify(res.structuredContent)).toBeUndefined();
    expect(res.structuredContent).toMatchObject({ status: "ok", stdout: "hi", result: 45, exitCode: 0 });
  });

  it("refuses the JavaScript bridge and finds no host network, files, env or processes", async () => {
    const code = `
results = {}
def attempt(label, fn):
    try:
        results[label] = "ALLOWED: " + repr(fn())[:80]
    except BaseException as e:
        results[label] = "blocked: " + type(e).__name__

def imp(name):
    return __import__(name)
attempt("import_js", lambda: imp("js"))
attempt("import_pyodide", lambda: imp("pyodide"))
attempt("import_pyodide_js", lambda: imp("pyodide_js"))
attempt("import_pyodide_ffi", lambda: __import__("pyodide.ffi"))
attempt("read_passwd", lambda: open("/etc/passwd").read())
attempt("read_host_file", lambda: open(${JSON.stringify("HOSTFILE")}).read())
attempt("write_host_file", lambda: open(${JSON.stringify("HOSTFILE")}, "w").write("pwned"))
def connect():
    import socket
    s = socket.socket()
    s.settimeout(1)
    s.connect(("127.0.0.1", 22))
attempt("socket", connect)
attempt("urlopen", lambda: __import__("urllib.request").request.urlopen("http://127.0.0.1:1/", timeout=1))
results["host_secret_in_env"] = "host-secret-value" in repr(dict(__import__("os").environ))
results
`.replaceAll('"HOSTFILE"', JSON.stringify(hostFile));
    const r = await py(code);
    expect(r.status, r.reason).toBe("ok");
    const results = r.result as Record<string, string | boolean>;
    for (const [label, outcome] of Object.entries(results)) {
      if (label === "host_secret_in_env") expect(outcome).toBe(false);
      else expect(outcome, label).toMatch(/^blocked: /);
    }
    expect(results.import_js).toBe("blocked: ImportError");
    expect(readFileSync(hostFile, "utf8")).toBe("untouched\n");
  });

  it("cannot start host processes", async () => {
    const sub = await py("import subprocess; subprocess.run(['id'])");
    expect(sub.status).toBe("error");
    expect(sub.reason).toContain("OSError");
    // os.system reaches Node's child_process inside the child: the permission model refuses it.
    const sys = await py("import os; os.system('touch /tmp/warden-pwned')");
    expect(sys.status).toBe("error");
    expect(sys.reason).toContain("Access to this API has been restricted");
  });

  it("gives every call a fresh interpreter", async () => {
    await py("import builtins; builtins.leak = 'secret'");
    const r = await py("import builtins; hasattr(builtins, 'leak')");
    expect(r.result).toBe(false);
  });

  it("stops a memory bomb at the wasm memory cap", async () => {
    const r = await py("blocks = []\nwhile True: blocks.append(bytearray(64 * 1024 * 1024))");
    expect(r.status, r.reason).toBe("out_of_memory");
    expect(r.reason).toContain("MemoryError");
  });

  it("kills an infinite loop and a catastrophic regex while other calls are served", async () => {
    // A per-call limit may only tighten the configured one: 3 s here instead of 30 s.
    const strict = { timeoutMs: 3_000 };
    const loop = provider.run("run_python", { code: "while True: pass" }, undefined, strict);
    const regex = provider.run(
      "run_python",
      { code: "import re; re.match(r'^(a+)+$', 'a' * 64 + 'b')" },
      undefined,
      strict,
    );
    const normal = await py("'still served'");
    expect(normal.result).toBe("still served");
    for (const r of await Promise.all([loop, regex])) {
      expect(r.status).toBe("timeout");
      expect(r.reason).toContain("3000 ms");
    }
  });

  it("stops output floods at the byte cap", async () => {
    const r = await py("while True: print('flood ' * 20)");
    expect(r.status).toBe("output_limit");
  });
});

describe("python confinement (the layer under pyodide)", { timeout: 60_000 }, () => {
  it("leaves a JavaScript payload no network, no writes, no processes and no environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-confine-"));
    const script = join(dir, "payload.mjs");
    writeFileSync(
      script,
      `
const out = {};
const attempt = async (label, fn) => {
  try { await fn(); out[label] = "ALLOWED"; } catch (e) { out[label] = "blocked: " + (e.code ?? e.name); }
};
const fs = await import("node:fs");
await attempt("write", () => fs.writeFileSync(${JSON.stringify(join(dir, "pwned"))}, "x"));
await attempt("read_outside", () => fs.readFileSync("/etc/passwd"));
await attempt("spawn", async () => (await import("node:child_process")).execSync("id"));
await attempt("worker", async () => new (await import("node:worker_threads")).Worker("1", { eval: true }));
await attempt("fetch", () => fetch("http://1.1.1.1/", { signal: AbortSignal.timeout(2000) }));
out.env = Object.keys(process.env);
console.log(JSON.stringify(out));
`,
    );
    const [cmd, args] = confinedNodeCommand(script, [dir], 256);
    const res = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
    const out = JSON.parse(res.stdout.trim().split("\n").pop() ?? "{}");
    expect(out).toMatchObject({
      write: "blocked: ERR_ACCESS_DENIED",
      read_outside: "blocked: ERR_ACCESS_DENIED",
      spawn: "blocked: ERR_ACCESS_DENIED",
      worker: "blocked: ERR_ACCESS_DENIED",
      env: [],
    });
    expect(out.fetch).toMatch(/^blocked: /);
  });
});
