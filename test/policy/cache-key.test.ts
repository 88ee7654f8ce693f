// The decision cache keys on exactly the input paths the loaded Rego policy can read.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { regoBackend } from "../../src/policy/backends/rego.js";
import { PolicyEngine } from "../../src/policy/engine.js";
import { compilePolicy, referencedInputPaths } from "../../src/rego/index.js";
import { makeCtx } from "./helpers.js";

function paths(source: string): string[][] | undefined {
  return referencedInputPaths(compilePolicy({ modules: { "p.rego": source } }).modules);
}

describe("referencedInputPaths", () => {
  it("lists constant input paths from bodies, heads, comprehensions, imports and with values", () => {
    expect(
      paths(`package p
import input.subject as who
allow if { input.request.tool == "x"; who.user == "alice" }
msg := sprintf("%s", [input.environment])
names := [n | some n in input.session.tools_called]
d contains input.request["server"] if true
t if { every f in input.scan.findings { f.score < 1 } }
w if allow with input.request.tool as input.request.exposed_name
`),
    ).toEqual([
      ["environment"],
      ["request", "exposed_name"],
      ["request", "server"],
      ["request", "tool"],
      ["scan", "findings"],
      ["session", "tools_called"],
      ["subject", "user"], // who.user through `import input.subject as who`
    ]);
  });

  it("stops a path at its first non-constant element and keeps the shortest covering path", () => {
    expect(
      paths(`package p
a if { some k; input.request.arguments[k] == 1 }
b if input.request.arguments.path == "/x"
c if input.registry.labels[0] == "r"
`),
    ).toEqual([
      ["registry", "labels"],
      ["request", "arguments"],
    ]);
  });

  it("answers undefined (the whole input) when a policy reads input as a whole", () => {
    expect(paths("package p\nx := input\n")).toBeUndefined();
    expect(paths("package p\nx if walk(input, [_, v])\n")).toBeUndefined();
    expect(paths("package p\nx if { some k; input[k] == 1 }\n")).toBeUndefined();
    expect(paths("package p\nimport input\nx if input.a == 1\n")).toEqual([["a"]]);
    expect(paths("package p\nimport input as i\nx := i\n")).toBeUndefined();
  });

  it("finds the paths of the shipped policies: no per-call counters, session ids or time", async () => {
    const policy = await regoBackend({ paths: [resolve(import.meta.dirname, "../../policies")] }).load();
    const p = policy.inputPaths?.map((x) => x.join("."));
    expect(p).toContain("request.arguments");
    expect(p).toContain("scan.findings");
    expect(p).toContain("subject.roles");
    expect(p).not.toContain("session.calls");
    expect(p).not.toContain("time");
    expect(p).not.toContain("session.id");
  });
});

async function engineFor(source: string): Promise<{ engine: PolicyEngine; evals: () => number }> {
  const dir = await mkdtemp(join(tmpdir(), "warden-cache-key-"));
  await writeFile(join(dir, "policy.rego"), source);
  const backend = regoBackend({ paths: [dir] });
  let n = 0;
  const counted = {
    ...backend,
    async load() {
      const p = await backend.load();
      return {
        ...p,
        evaluate: (input: Parameters<typeof p.evaluate>[0], s: AbortSignal) => {
          n++;
          return p.evaluate(input, s);
        },
      };
    },
  };
  const engine = new PolicyEngine({ backend: counted });
  await engine.start();
  return { engine, evals: () => n };
}

describe("decision cache keyed on the paths the policy reads", () => {
  it("reuses a decision across sessions, call counts and time when the policy reads none of them", async () => {
    const { engine, evals } = await engineFor(`package warden
decision := {"allow": input.request.tool == "read_file"}
`);
    await engine.evaluate(makeCtx({ session: "a", calls: 1 }));
    const hit = await engine.evaluate(makeCtx({ session: "b", calls: 99, args: { path: "/other" } }));
    expect(hit.cached).toBe(true);
    expect(evals()).toBe(1);
    const other = await engine.evaluate(makeCtx({ tool: "write_file" }));
    expect(other.cached).toBe(false);
    expect(other.decision.allow).toBe(false);
    await engine.close();
  });

  it("never serves a stale decision to a policy that reads session.calls", async () => {
    const { engine, evals } = await engineFor(`package warden
decision := {"allow": input.session.calls < 3, "reasons": [sprintf("calls %d", [input.session.calls])]}
`);
    const outcomes: boolean[] = [];
    for (let calls = 0; calls < 5; calls++)
      outcomes.push((await engine.evaluate(makeCtx({ session: "s", calls }))).decision.allow);
    expect(outcomes).toEqual([true, true, true, false, false]);
    expect(evals()).toBe(5);
    // The same count in another session is the same question: a hit with the right answer.
    const again = await engine.evaluate(makeCtx({ session: "t", calls: 4 }));
    expect(again.cached).toBe(true);
    expect(again.decision.allow).toBe(false);
    await engine.close();
  });

  it("fills session.tools_called for a policy that reads it, and keys on it", async () => {
    const { engine, evals } = await engineFor(`package warden
decision := {"allow": count([t | some t in input.session.tools_called; t == "fs__delete"]) == 0}
`);
    const ctx = makeCtx();
    ctx.session.toolsCalled.push("fs__read", "fs__read");
    expect((await engine.evaluate(ctx)).decision.allow).toBe(true);
    ctx.session.toolsCalled.push("fs__delete");
    const after = await engine.evaluate(ctx);
    expect(after.cached).toBe(false);
    expect(after.decision.allow).toBe(false);
    expect(evals()).toBe(2);
    await engine.close();
  });

  it("keys on the whole input when the policy reads input dynamically", async () => {
    const { engine, evals } = await engineFor(`package warden
decision := {"allow": count([k | some k; input[k]]) > 0}
`);
    await engine.evaluate(makeCtx({ session: "a" }));
    const b = await engine.evaluate(makeCtx({ session: "b" }));
    expect(b.cached).toBe(false);
    expect(evals()).toBe(2);
    await engine.close();
  });

  it("keys on arguments read below a dynamic index as a whole subtree", async () => {
    const { engine } = await engineFor(`package warden
default bad := false
decision := {"allow": bad == false}
bad if { some k; contains(input.request.arguments[k], "rm -rf") }
`);
    expect((await engine.evaluate(makeCtx({ args: { a: "ls" } }))).decision.allow).toBe(true);
    const denied = await engine.evaluate(makeCtx({ args: { a: "ls", b: "rm -rf /" } }));
    expect(denied.cached).toBe(false);
    expect(denied.decision.allow).toBe(false);
    await engine.close();
  });
});
