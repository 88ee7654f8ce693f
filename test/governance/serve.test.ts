// `warden serve` with the policy/audit/metrics sections in warden.yaml: the plugins wire the
// governance pipeline in; SIGHUP reloads and SIGUSR2 toggles the kill switch of the real process.
import { mkdtemp, readFile, realpath } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/audit/verify.js";
import { freePort, startWardenHttp } from "../fixtures/servers/child-process.js";
import { call, POLICIES, writeServeConfig } from "./harness.js";

describe("warden serve with governance sections", () => {
  it("decides, audits and counts; SIGHUP reloads, SIGUSR2 flips the kill switch", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-serve-gov-")));
    const files = join(dir, "files");
    const metricsPort = await freePort();
    await writeServeConfig(dir, files, {
      policy: { paths: [POLICIES] },
      audit: { path: "audit/audit.jsonl", durability: "write" },
      metrics: { port: metricsPort },
    });
    const warden = await startWardenHttp(join(dir, "warden.yaml"));
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const client = new Client({ name: "serve-test", version: "1" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(warden.url)));
      expect((await call(client, "fs__list_directory", { path: files })).ok).toBe(true);
      const denied = await call(client, "fs__write_file", { path: join(files, "a"), content: "rm -rf ~" });
      expect(denied.error).toMatch(/dangerous argument \(recursive delete\) at \/content/);

      let text = await (await fetch(metricsUrl)).text();
      expect(text).toMatch(/^tool_calls_total\{server="fs",tool="write_file",outcome="denied"\} 1$/m);
      expect(text).toMatch(/^policy_kill_switch 0$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

      warden.child.kill("SIGUSR2");
      await expect
        .poll(async () => (await (await fetch(metricsUrl)).text()).match(/^policy_kill_switch (\d)$/m)?.[1], {
          timeout: 10_000,
        })
        .toBe("1");
      expect((await call(client, "fs__write_file", { path: join(files, "a"), content: "rm -rf ~" })).ok).toBe(
        true,
      );

      warden.child.kill("SIGHUP");
      await expect
        .poll(
          async () => (await readFile(join(dir, "audit/audit.jsonl"), "utf8")).includes('"trigger":"SIGHUP"'),
          { timeout: 10_000 },
        )
        .toBe(true);
      text = await (await fetch(metricsUrl)).text();
      expect(text).toMatch(/^policy_reloads_total 1$/m);
    } finally {
      await client.close().catch(() => {});
      await warden.stop();
    }
    const ledger = join(dir, "audit/audit.jsonl");
    const result = await verifyLedger([ledger]);
    expect(result.ok).toBe(true);
    const lines = (await readFile(ledger, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.decision)).toEqual(
      expect.arrayContaining(["allow", "deny", "would_deny", "kill_switch_on", "loaded"]),
    );
  });

  it("keeps serving with a warning when the metrics port is taken", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-serve-busy-metrics-")));
    const files = join(dir, "files");
    // Something else already listens on the metrics port.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const busyPort = (squatter.address() as { port: number }).port;
    await writeServeConfig(dir, files, {
      policy: { paths: [POLICIES] },
      audit: { path: "audit/audit.jsonl", durability: "write" },
      metrics: { port: busyPort },
    });
    const warden = await startWardenHttp(join(dir, "warden.yaml"));
    const client = new Client({ name: "serve-test", version: "1" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(warden.url)));
      expect((await call(client, "fs__list_directory", { path: files })).ok).toBe(true);
      const denied = await call(client, "fs__write_file", { path: join(files, "a"), content: "rm -rf ~" });
      expect(denied.error).toMatch(/dangerous argument/);
      expect(warden.stderr()).toMatch(
        new RegExp(`metrics listener 127\\.0\\.0\\.1:${busyPort} not started: port already in use`),
      );
      expect(warden.child.exitCode).toBe(null);
    } finally {
      await client.close().catch(() => {});
      await warden.stop();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    // Governance still ran: the calls are in the ledger.
    expect((await verifyLedger([join(dir, "audit/audit.jsonl")])).ok).toBe(true);
  });
});
