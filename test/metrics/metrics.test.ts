import { describe, expect, it } from "vitest";
import { LabelLimiter } from "../../src/metrics/label-limiter.js";
import { WardenMetrics } from "../../src/metrics/registry.js";
import { startMetricsServer } from "../../src/metrics/server.js";

describe("metrics", () => {
  it("caps label cardinality and folds the rest into 'other'", async () => {
    const l = new LabelLimiter(3);
    expect(["a", "b", "c", "d", "a", "e"].map((v) => l.limit("tool", v))).toEqual([
      "a",
      "b",
      "c",
      "other",
      "a",
      "other",
    ]);
    expect(l.limit("server", "d")).toBe("d"); // per label
    const m = new WardenMetrics({ maxLabelValues: 2, processMetrics: false });
    for (const t of ["t1", "t2", "t3", "t4"]) m.recordToolCall("fs", t, "ok", 0.01);
    const text = await m.text();
    expect(text).toContain('tool_calls_total{server="fs",tool="t1",outcome="ok"} 1');
    expect(text).toContain('tool_calls_total{server="fs",tool="other",outcome="ok"} 2');
    m.recordDenyReasons(["r1", "r2", "r3 with a new reason"]);
    expect(await m.text()).toContain('policy_deny_reasons_total{reason="other"} 1');
  });

  it("keeps exactly one policy_version series", async () => {
    const m = new WardenMetrics({ processMetrics: false });
    m.setPolicyVersion("v1", "rego");
    m.setPolicyVersion("v2", "rego");
    const text = await m.text();
    expect(text).not.toContain('version="v1"');
    expect(text).toContain('policy_version{version="v2",backend="rego"} 1');
  });

  it("serves /metrics on its own 127.0.0.1 listener with process metrics", async () => {
    const m = new WardenMetrics();
    const s = await startMetricsServer(m, { port: 0 });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(s.url);
      expect(res.headers.get("content-type")).toMatch(/text\/plain/);
      const body = await res.text();
      expect(body).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(body).toMatch(/^policy_kill_switch 0$/m);
      expect((await fetch(s.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it("reads upstream state at scrape time", async () => {
    const m = new WardenMetrics({ processMetrics: false });
    let state = "ready";
    m.observeUpstreams(() => [{ name: "fs", state }]);
    expect(await m.text()).toContain('upstream_up{server="fs"} 1');
    state = "restarting";
    expect(await m.text()).toContain('upstream_up{server="fs"} 0');
  });
});
