// End to end: hot reload (broken policy keeps the last good one), the OPA wasm bundle and remote
// OPA backends answering and failing through warden, and `warden audit verify` on the CLI.
import { execFile } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteBackend } from "../../src/policy/backends/remote.js";
import { wasmBackend } from "../../src/policy/backends/wasm.js";
import { tarGz } from "../policy/tar.js";
import { decisionWasm } from "../policy/wasm-module.js";
import { call, POLICIES, startHarness } from "./harness.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/index.ts"), ...args], {
      cwd: ROOT,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** The same `warden audit` command in-process (a CLI start costs seconds on a loaded CI machine). */
async function auditCommand(...args: string[]): Promise<{ code: number; out: string }> {
  const { Command } = await import("commander");
  const { register } = await import("../../src/cli/commands/audit.js");
  const program = new Command("warden").exitOverride();
  register(program);
  let out = "";
  const write = process.stdout.write;
  const saved = process.exitCode;
  process.exitCode = 0;
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "warden", "audit", ...args]);
    return { code: Number(process.exitCode ?? 0), out };
  } finally {
    process.stdout.write = write;
    process.exitCode = saved;
  }
}

describe("hot reload through warden", () => {
  it("applies a good change, rejects a broken one and keeps the last good policy", async () => {
    const { mkdtemp, realpath } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-reload-")));
    const policies = join(dir, "policies");
    await cp(POLICIES, policies, { recursive: true });
    const h = await startHarness({ dir, policy: { paths: [policies] } });
    try {
      const c = await h.client("erin");
      const v1 = h.gov.engine?.version;
      expect((await call(c, "fs__list_directory", { path: h.files })).ok).toBe(true);
      // A good change: dev now also refuses list_directory.
      await writeFile(
        join(policies, "warden", "local.rego"),
        'package warden\n\ndeny contains "listing is off today" if input.request.tool == "list_directory"\n',
      );
      await expect.poll(() => h.gov.engine?.version, { timeout: 10_000 }).not.toBe(v1);
      const v2 = h.gov.engine?.version;
      expect((await call(c, "fs__list_directory", { path: h.files })).error).toMatch(/listing is off today/);
      // A broken change: rejected, v2 stays active, failure counted and audited.
      await writeFile(join(policies, "warden", "local.rego"), "package warden\n\ndeny contains if {{{\n");
      await expect
        .poll(() => h.gov.engine?.status().lastReloadError?.message, { timeout: 10_000 })
        .toMatch(/local\.rego/);
      expect(h.gov.engine?.version).toBe(v2);
      expect((await call(c, "fs__list_directory", { path: h.files })).error).toMatch(/listing is off today/);
      const text = await (await fetch(h.gov.metricsServer?.url as string)).text();
      expect(text).toMatch(/^policy_reload_failures_total 1$/m);
      expect(text).toContain(`policy_version{version="${v2}",backend="rego"} 1`);
      await h.gov.ledger?.flushed();
      const ledger = await readFile(h.auditPath, "utf8");
      expect(ledger).toContain('"decision":"reload_failed"');
      // SIGHUP-style manual reload after fixing the file picks the fix up.
      await writeFile(join(policies, "warden", "local.rego"), "package warden\n");
      expect(await h.gov.engine?.reload("test")).toBe(true);
      expect((await call(c, "fs__list_directory", { path: h.files })).ok).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe("OPA backends through warden", () => {
  let opa: Server;
  let opaUrl: string;
  beforeAll(async () => {
    // Speaks OPA's data API: POST /v1/data/warden/decision {"input": ...} -> {"result": ...}
    opa = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const ch of req) chunks.push(ch as Buffer);
      const { input } = JSON.parse(Buffer.concat(chunks).toString() || "{}") as {
        input: { request?: { tool?: string } };
      };
      if (req.url?.split("?")[0] !== "/v1/data/warden/decision") return res.writeHead(404).end("{}");
      const tool = input.request?.tool;
      const result =
        tool === "write_file" ? { allow: false, deny: ["remote OPA: writes are off"] } : { allow: true };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ result }));
    });
    await new Promise<void>((r) => opa.listen(0, "127.0.0.1", r));
    opaUrl = `http://127.0.0.1:${(opa.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => opa.close(() => r())));

  it("a wasm bundle loads, answers and fails closed on a runtime error", async () => {
    const { mkdtemp, realpath } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-wasm-")));
    const bundle = join(dir, "bundle.tar.gz");
    await writeFile(bundle, tarGz({ "/data.json": "{}", "/policy.wasm": await decisionWasm() }));
    const h = await startHarness({ dir, backend: wasmBackend({ path: bundle }) });
    try {
      const c = await h.client("frank");
      expect((await call(c, "fs__list_directory", { path: h.files })).ok).toBe(true);
      const bad = await call(c, "fs__write_file", { path: join(h.files, "w.txt"), content: "rm -rf /" });
      expect(bad.error).toMatch(/wasm: dangerous argument/);
    } finally {
      await h.close();
    }
    const broken = await startHarness({
      backend: wasmBackend({ path: bundle, entrypoint: "warden/broken" }),
    });
    try {
      const c = await broken.client("frank");
      const r = await call(c, "fs__list_directory", { path: broken.files });
      expect(r.error).toMatch(/policy error: wasm policy failed: .*unreachable.*\(fail-closed\)/);
      await broken.gov.ledger?.flushed();
      expect(await readFile(broken.auditPath, "utf8")).toContain('"fallback":"error:fail-closed"');
    } finally {
      await broken.close();
    }
  });

  it("a remote OPA server answers; when it is down the failure mode decides", async () => {
    const h = await startHarness({ backend: remoteBackend({ url: opaUrl }) });
    try {
      const c = await h.client("gina");
      expect((await call(c, "fs__list_directory", { path: h.files })).ok).toBe(true);
      expect((await call(c, "fs__write_file", { path: join(h.files, "r.txt"), content: "x" })).error).toMatch(
        /remote OPA: writes are off/,
      );
    } finally {
      await h.close();
    }
    const port = (opa.address() as AddressInfo).port;
    const deadUrl = await new Promise<string>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const u = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
        s.close(() => resolve(u));
      });
    });
    expect(port).toBeGreaterThan(0);
    // Loads against the live server, then the server "goes away": point a second backend at a closed port.
    const flaky = remoteBackend({ url: opaUrl });
    const loaded = await flaky.load();
    const dead = remoteBackend({ url: deadUrl });
    const open = await startHarness({
      policy: { failureMode: "open", cache: { enabled: false } },
      backend: {
        kind: "remote",
        load: async () => ({
          version: loaded.version,
          evaluate: (
            await dead.load().catch(() => ({
              evaluate: () => {
                throw new Error(`OPA server ${deadUrl} is unreachable`);
              },
            }))
          ).evaluate,
        }),
      },
    });
    try {
      const c = await open.client("hank");
      expect((await call(c, "fs__list_directory", { path: open.files })).ok).toBe(true);
      await open.gov.ledger?.flushed();
      expect(await readFile(open.auditPath, "utf8")).toContain('"fallback":"error:fail-open"');
    } finally {
      await open.close();
    }
  });
});

describe("warden audit verify (CLI)", () => {
  it("passes on a fresh ledger and fails on an edited, deleted or reordered record", {
    timeout: 90_000,
  }, async () => {
    const h = await startHarness();
    let path: string;
    try {
      path = h.auditPath;
      const c = await h.client("ivy");
      for (let i = 0; i < 4; i++) await call(c, "fs__list_directory", { path: h.files });
    } finally {
      await h.close();
    }
    const ok = await cli("audit", "verify", path);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK: \d+ records \(seq 0\.\.\d+, from genesis\)/);
    const lines = (await readFile(path, "utf8")).split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);

    await writeFile(
      path,
      `${lines.map((l, i) => (i === 3 ? l.replace('"outcome":"ok"', '"outcome":"error"') : l)).join("\n")}\n`,
    );
    const edited = await auditCommand("verify", path);
    expect(edited.code).toBe(1);
    expect(edited.out).toMatch(/FAILED \(altered\): .*:4: record seq 3 was altered/);

    // Same verifier in-process for the other two tamper kinds (each CLI start costs seconds on CI).
    const { verifyLedger } = await import("../../src/audit/verify.js");
    await writeFile(path, `${lines.filter((_, i) => i !== 2).join("\n")}\n`);
    expect((await verifyLedger([path])).problem?.message).toMatch(/record seq 2 is missing before seq 3/);
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    await writeFile(path, `${swapped.join("\n")}\n`);
    expect((await verifyLedger([path])).problem?.kind).toBe("reordered");

    await writeFile(path, `${lines.join("\n")}\n`);
    const tail = await auditCommand("tail", path, "--filter", "event=decision", "-n", "2");
    expect(tail.code).toBe(0);
    expect(tail.out.trim().split("\n")).toHaveLength(2);
    expect(tail.out).toMatch(/decision allow \[enforce\] acme\/ivy fs\/list_directory/);
  });
});
