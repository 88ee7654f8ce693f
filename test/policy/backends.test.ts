import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteBackend } from "../../src/policy/backends/remote.js";
import { wasmBackend } from "../../src/policy/backends/wasm.js";
import { PolicyEngine } from "../../src/policy/engine.js";
import { makeCtx } from "./helpers.js";
import { tarGz } from "./tar.js";
import { decisionWasm } from "./wasm-module.js";

let dir: string;
let wasm: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warden-backends-"));
  wasm = await decisionWasm();
});

describe("OPA wasm backend", () => {
  it("loads a raw policy.wasm and answers through the OPA ABI", async () => {
    const file = join(dir, "policy.wasm");
    await writeFile(file, wasm);
    const e = new PolicyEngine({ backend: wasmBackend({ path: file }) });
    await e.start();
    expect(e.version).toMatch(/^sha256:/);
    const ok = await e.evaluate(makeCtx({ args: { cmd: "ls" } }));
    expect(ok.outcome).toBe("allow");
    expect(ok.decision.reasons).toEqual(["wasm: allowed"]);
    const bad = await e.evaluate(makeCtx({ args: { cmd: "rm -rf /" } }));
    expect(bad.outcome).toBe("deny");
    expect(bad.decision.reasons).toEqual(["wasm: dangerous argument"]);
  });

  it("loads a bundle.tar.gz as written by `opa build -t wasm`", async () => {
    const file = join(dir, "bundle.tar.gz");
    await writeFile(
      file,
      tarGz({ "/.manifest": '{"revision":"r1"}', "/data.json": '{"teams":{}}', "/policy.wasm": wasm }),
    );
    const e = new PolicyEngine({ backend: wasmBackend({ path: file }) });
    await e.start();
    expect((await e.evaluate(makeCtx())).outcome).toBe("allow");
  });

  it("rejects broken bundles with a clear error and fails per failure mode on runtime errors", async () => {
    const noWasm = join(dir, "empty.tar.gz");
    await writeFile(noWasm, tarGz({ "/data.json": "{}" }));
    await expect(wasmBackend({ path: noWasm }).load()).rejects.toThrow(/bundle has no policy.wasm/);
    const junk = join(dir, "junk.wasm");
    await writeFile(junk, "hello");
    await expect(wasmBackend({ path: junk }).load()).rejects.toThrow(
      /neither a wasm module nor a gzip bundle/,
    );
    const file = join(dir, "policy2.wasm");
    await writeFile(file, wasm);
    await expect(wasmBackend({ path: file, entrypoint: "nope/rule" }).load()).rejects.toThrow(
      /entrypoint 'nope\/rule' is not in the module \(has: warden\/decision, warden\/broken\)/,
    );
    const e = new PolicyEngine({ backend: wasmBackend({ path: file, entrypoint: "warden/broken" }) });
    await e.start();
    const r = await e.evaluate(makeCtx());
    expect(r.outcome).toBe("deny");
    expect(r.fallback?.kind).toBe("error");
    expect(r.fallback?.message).toMatch(/wasm policy failed: .*unreachable/);
  });
});

describe("remote OPA backend", () => {
  let server: Server;
  let url: string;
  const seen: Array<{ path: string; body: unknown }> = [];
  let behaviour: "ok" | "500" | "slow" | "undefined" = "ok";

  async function body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  }

  beforeAll(async () => {
    // A small server speaking OPA's data API: POST /v1/data/<path> {"input": ...} -> {"result": ...}
    server = createServer(async (req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const b = (await body(req)) as { input: { request?: { tool?: string } } };
      seen.push({ path: u.pathname, body: b });
      if (!u.pathname.startsWith("/v1/data/")) return res.writeHead(404).end();
      if (behaviour === "500" && u.searchParams.get("provenance") === null)
        return res
          .writeHead(500, { "content-type": "application/json" })
          .end('{"code":"internal_error","message":"eval failed"}');
      if (behaviour === "slow" && u.searchParams.get("provenance") === null) {
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const out: Record<string, unknown> = {};
      if (u.searchParams.get("provenance") === "true") out.provenance = { revision: "rev-42" };
      if (behaviour !== "undefined") {
        const tool = b.input.request?.tool;
        out.result =
          tool === "read_file" ? { allow: true } : { allow: false, deny: [`remote: ${tool} not allowed`] };
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("posts the input to /v1/data/<path> and uses the answer", async () => {
    behaviour = "ok";
    const e = new PolicyEngine({ backend: remoteBackend({ url, path: "warden/decision" }) });
    await e.start();
    expect(e.version).toBe("remote:rev-42");
    expect((await e.evaluate(makeCtx())).outcome).toBe("allow");
    const d = await e.evaluate(makeCtx({ tool: "drop_table" }));
    expect(d.outcome).toBe("deny");
    expect(d.decision.reasons).toEqual(["remote: drop_table not allowed"]);
    const last = seen[seen.length - 1];
    expect(last.path).toBe("/v1/data/warden/decision");
    expect(last.body).toMatchObject({ input: { version: 1, request: { tool: "drop_table" } } });
  });

  it("treats an undefined rule as default deny", async () => {
    behaviour = "undefined";
    const e = new PolicyEngine({ backend: remoteBackend({ url }), cache: { enabled: false } });
    await e.start();
    const r = await e.evaluate(makeCtx());
    expect(r.outcome).toBe("deny");
    expect(r.decision.reasons[0]).toMatch(/default deny/);
  });

  it("fails closed or open on server errors, timeouts and unreachable servers", async () => {
    behaviour = "500";
    const closed = new PolicyEngine({ backend: remoteBackend({ url }), cache: { enabled: false } });
    await closed.start();
    const r = await closed.evaluate(makeCtx());
    expect(r.outcome).toBe("deny");
    expect(r.fallback).toMatchObject({ kind: "error", failureMode: "closed" });
    expect(r.fallback?.message).toMatch(/answered 500: eval failed/);

    behaviour = "slow";
    const open = new PolicyEngine({ backend: remoteBackend({ url }), timeoutMs: 50, failureMode: "open" });
    await open.start();
    const t = await open.evaluate(makeCtx());
    expect(t.fallback?.kind).toBe("timeout");
    expect(t.outcome).toBe("allow");

    await expect(remoteBackend({ url: "http://127.0.0.1:1" }).load()).rejects.toThrow(/unreachable/);
  });
});
