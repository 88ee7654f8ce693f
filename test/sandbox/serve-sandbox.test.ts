// The code tools mounted in a real `warden serve`: a `sandbox:` section plus a `builtin: sandbox`
// server expose run_javascript through the registry like any other tool; an abnormal end (a
// time-out) is a clear tool error, is audited and counted, and warden keeps serving.
import { mkdir, mkdtemp, readFile, realpath, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { verifyLedger } from "../../src/audit/verify.js";
import { freePort, startWardenHttp } from "../fixtures/servers/child-process.js";

function textOf(result: Record<string, unknown>): string {
  return ((result.content as Array<{ text?: string }>) ?? []).map((c) => c.text ?? "").join("");
}

describe("warden serve with a sandbox section", () => {
  it("lists and runs run_javascript, turns a time-out into a tool error, audits and counts it", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-serve-sandbox-")));
    const metricsPort = await freePort();
    await mkdir(join(dir, "registry"));
    await writeFile(
      join(dir, "registry", "dev.yaml"),
      toYaml({
        servers: { code: { tools: [{ name: "run_javascript", risk: "medium", labels: ["code"] }] } },
      }),
    );
    await writeFile(
      join(dir, "warden.yaml"),
      toYaml({
        environment: "dev",
        servers: { code: { builtin: "sandbox" } },
        registry: { dir: "registry" },
        sandbox: { poolSize: 1, python: { enabled: false }, limits: { timeoutMs: 1500 } },
        audit: { path: "audit.jsonl" },
        metrics: { port: metricsPort },
      }),
    );
    const warden = await startWardenHttp(join(dir, "warden.yaml"));
    const client = new Client({ name: "sandbox-serve-test", version: "1" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(warden.url)));
      const names = (await client.listTools()).tools.map((t) => t.name);
      // run_python is not in the registry, so it stays invisible even though the provider has it off anyway.
      expect(names).toEqual(["code__run_javascript"]);

      const ok = await client.callTool({
        name: "code__run_javascript",
        arguments: { code: "console.log('hi from wasi'); 6 * 7" },
      });
      expect(ok.isError).toBeFalsy();
      expect(textOf(ok)).toContain("hi from wasi");
      expect(JSON.stringify(ok)).toContain("42");

      const looping = await client.callTool({
        name: "code__run_javascript",
        arguments: { code: "for(;;){}" },
      });
      expect(looping.isError).toBe(true);
      expect(textOf(looping)).toMatch(/timeout/i);

      // Warden is still healthy and serves the next call.
      const again = await client.callTool({ name: "code__run_javascript", arguments: { code: "1 + 1" } });
      expect(again.isError).toBeFalsy();

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^sandbox_runs_total\{runtime="javascript",status="timeout"\} 1$/m);
      expect(metrics).toMatch(/^sandbox_runs_total\{runtime="javascript",status="ok"\} 2$/m);
    } finally {
      await client.close().catch(() => {});
      await warden.stop();
    }
    const ledger = join(dir, "audit.jsonl");
    expect((await verifyLedger([ledger])).ok).toBe(true);
    const records = (await readFile(ledger, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const calls = records.filter((r) => r.tool === "run_javascript");
    expect(calls).toHaveLength(3);
  }, 180_000);
});
