// Pipeline.run's ordering and error handling, for synchronous and asynchronous hooks alike
// (synchronous hooks take a path without async functions, see runner.ts).
import { describe, expect, it } from "vitest";
import { RoutedCallContext } from "../../src/pipeline/call-context.js";
import { Pipeline } from "../../src/pipeline/runner.js";
import { type CallContext, type Stage, StageRefusal } from "../../src/pipeline/types.js";
import { LazyAbort } from "../../src/upstream/cancel.js";
import { RpcError } from "../../src/upstream/jsonrpc.js";

function ctx(): CallContext {
  return new RoutedCallContext(
    1,
    "stdio",
    "dev",
    "tools/call",
    { user: "u", tenant: "t", roles: [], scopes: [], authMethod: "stdio" },
    { id: "s", callCount: 0, toolsCalled: [], flags: {} },
    { capabilities: {} },
    {},
    new LazyAbort(),
  );
}

/** A stage that records its hooks in `log`; `mode` says how each hook behaves. */
function stage(
  name: string,
  log: string[],
  mode: {
    before?: "sync" | "async" | "throw" | "reject";
    after?: "sync" | "async" | "throw" | "reject";
  } = {},
): Stage {
  const hook = (what: string, how: string | undefined) => (c: CallContext) => {
    log.push(`${name}.${what}${c.error ? `(error:${c.error.stage ?? c.error.message})` : ""}`);
    if (how === "throw") throw new StageRefusal(name, `${what} says no`);
    if (how === "reject") return Promise.reject(new Error(`${name} broke`));
    if (how === "async") return new Promise<void>((r) => setImmediate(r));
  };
  return { name, before: hook("before", mode.before), after: hook("after", mode.after) };
}

describe("Pipeline.run", () => {
  for (const kind of ["sync", "async"] as const) {
    it(`runs befores in order, execute, afters in reverse (${kind} hooks)`, async () => {
      const log: string[] = [];
      const p = new Pipeline([
        stage("a", log, { before: kind, after: kind }),
        stage("b", log, { before: kind, after: kind }),
      ]);
      const c = ctx();
      const out = await p.run(c, async () => {
        log.push("execute");
        return { ok: true };
      });
      expect(out).toEqual({ ok: true });
      expect(c.result).toEqual({ ok: true });
      expect(log).toEqual(["a.before", "b.before", "execute", "b.after", "a.after"]);
    });

    it(`a refusal skips execute and later befores, and every after hook sees it (${kind})`, async () => {
      const log: string[] = [];
      const p = new Pipeline([
        stage("a", log, { before: kind, after: kind }),
        stage("b", log, { before: "throw", after: kind }),
        stage("c", log, { before: kind, after: kind }),
      ]);
      let executed = false;
      const run = p.run(ctx(), async () => {
        executed = true;
      });
      await expect(run).rejects.toMatchObject({ code: -32001, message: "refused by b: before says no" });
      expect(executed).toBe(false);
      expect(log).toEqual([
        "a.before",
        "b.before",
        "c.after(error:b)",
        "b.after(error:b)",
        "a.after(error:b)",
      ]);
    });

    it(`a failing after hook replaces the outcome; the others still run (${kind})`, async () => {
      const log: string[] = [];
      const p = new Pipeline([stage("a", log, { after: kind }), stage("b", log, { after: "reject" })]);
      const run = p.run(ctx(), async () => ({ ok: true }));
      await expect(run).rejects.toMatchObject({ message: "stage 'b' failed: b broke" });
      expect(log).toEqual(["a.before", "b.before", "b.after", "a.after(error:b)"]);
    });
  }

  it("never throws synchronously: a throwing execute or before hook becomes a rejection", async () => {
    const p = new Pipeline([]);
    const run = p.run(ctx(), () => {
      throw new RpcError(-32602, "bad params");
    });
    expect(run).toBeInstanceOf(Promise);
    await expect(run).rejects.toMatchObject({ code: -32602, message: "bad params" });
    const log: string[] = [];
    const refusing = new Pipeline([stage("x", log, { before: "throw", after: "throw" })]);
    const refused = refusing.run(ctx(), async () => ({}));
    expect(refused).toBeInstanceOf(Promise);
    await expect(refused).rejects.toMatchObject({ message: "refused by x: after says no" });
  });

  it("a downstream failure reaches the after hooks as ctx.error and the caller as an RpcError", async () => {
    const log: string[] = [];
    const p = new Pipeline([stage("a", log)]);
    const c = ctx();
    await expect(p.run(c, () => Promise.reject(new RpcError(-32010, "server gone")))).rejects.toBeInstanceOf(
      RpcError,
    );
    expect(c.error).toMatchObject({ code: -32010, message: "server gone" });
    expect(log).toEqual(["a.before", "a.after(error:server gone)"]);
  });
});
