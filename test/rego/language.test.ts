// Behaviour of the embedded Rego engine beyond the OPA conformance cases: the public API,
// error messages, v0 syntax, custom builtins, strict mode and exact numbers.
import { describe, expect, it } from "vitest";
import { registerBuiltin } from "../../src/rego/builtins/types.js";
import {
  compilePolicy,
  RegoCompileError,
  RegoError,
  RegoSyntaxError,
  toJS,
  toJSONText,
  type Value,
} from "../../src/rego/index.js";

const rows = (r: { results: Record<string, Value>[] }) =>
  r.results.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toJS(v)])));

describe("parsing", () => {
  it("reports file:line:col and a readable message", () => {
    let err: unknown;
    try {
      compilePolicy({ modules: { "authz.rego": "package authz\n\nallow if {\n  input.user ==\n}\n" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegoSyntaxError);
    expect(String((err as Error).message)).toMatch(/^authz\.rego:5:1: rego_parse_error: unexpected "}"/);
  });

  it("requires a package declaration", () => {
    expect(() => compilePolicy({ modules: { "x.rego": "allow := true" } })).toThrow(
      /x\.rego:1:1: rego_parse_error: expected `package` declaration/,
    );
  });

  it("explains v0 bodies in v1 mode", () => {
    expect(() => compilePolicy({ modules: { "old.rego": "package old\ndeny[msg] { msg := 1 }" } })).toThrow(
      /old\.rego:2:11: rego_parse_error: `if` keyword is required before rule body/,
    );
  });

  it("parses v0 syntax in v0-compatible mode", () => {
    const policy = compilePolicy({
      v0Compatible: true,
      modules: {
        "v0.rego": `package v0
import future.keywords.in
deny[msg] { input.user == "eve"; msg := "eve is blocked" }
allow { not deny["eve is blocked"] }
ports[p] = true { p := input.ports[_] }`,
      },
    });
    expect(toJS(policy.prepareRule("data.v0.deny").eval({ user: "eve" }))).toEqual(["eve is blocked"]);
    expect(policy.prepareRule("data.v0.allow").eval({ user: "bob" })).toBe(true);
    expect(policy.prepareRule("data.v0.allow").eval({ user: "eve" })).toBeUndefined();
    expect(toJS(policy.prepareRule("data.v0.ports").eval({ ports: [80, 443] }))).toEqual({
      "80": true,
      "443": true,
    });
  });
});

describe("compilation", () => {
  it("rejects unsafe variables", () => {
    expect(() => compilePolicy({ modules: { "a.rego": "package a\np if { x > 1 }" } })).toThrow(
      /a\.rego:2: rego_unsafe_var_error: var x is unsafe/,
    );
  });

  it("reorders bodies for safety like OPA", () => {
    const p = compilePolicy({ modules: { "a.rego": "package a\np := y if { y > 1; y := input.n * 2 }" } });
    expect(p.prepareRule("data.a.p").eval({ n: 3 })).toBe(6);
  });

  it("detects recursion", () => {
    expect(() => compilePolicy({ modules: { "r.rego": "package r\np if q\nq if p" } })).toThrow(
      RegoCompileError,
    );
    expect(() => compilePolicy({ modules: { "r.rego": "package r\np if q\nq if p" } })).toThrow(
      /rego_recursion_error: rule data\.r\.\w is recursive/,
    );
  });

  it("rejects calls to unknown functions", () => {
    expect(() => compilePolicy({ modules: { "f.rego": "package f\np := nope(1)" } })).toThrow(
      /f\.rego:2: rego_type_error: undefined function nope/,
    );
  });

  it("merges packages across files and resolves imports", () => {
    const p = compilePolicy({
      modules: {
        "lib.rego": 'package lib.util\nis_admin(u) if u.role == "admin"',
        "a1.rego": "package app\nimport data.lib.util\nallow if util.is_admin(input.user)",
        "a2.rego":
          'package app\nimport data.lib.util as u\nallow if input.user.name == "root"\nnames contains n if some n in ["x"]',
      },
    });
    const allow = p.prepareRule("data.app.allow");
    expect(allow.eval({ user: { role: "admin" } })).toBe(true);
    expect(allow.eval({ user: { name: "root" } })).toBe(true);
    expect(allow.eval({ user: { name: "bob" } })).toBeUndefined();
    expect(toJS(p.prepareRule("data.app").eval({ user: { name: "root" } }))).toEqual({
      allow: true,
      names: ["x"],
    });
  });
});

describe("evaluation", () => {
  const policy = compilePolicy({
    modules: {
      "p.rego": `package p
default level := "none"
level := "admin" if input.role == "admin"
else := "user" if input.role
size(x) := count(x)
size(x, y) := count(x) + count(y)
conflict := input.a
conflict := input.b
all_small if every n in input.nums { n < 10 }
roles contains r if some r in input.roles
by_name[u.name] := u.age if some u in input.users
`,
    },
    data: { limits: { max: 3 } },
  });

  it("evaluates defaults and else chains", () => {
    const r = policy.prepareRule("data.p.level");
    expect(r.eval({ role: "admin" })).toBe("admin");
    expect(r.eval({ role: "dev" })).toBe("user");
    expect(r.eval({})).toBe("none");
  });

  it("overloads functions by arity", () => {
    const q = policy.prepareQuery("a := data.p.size([1, 2]); b := data.p.size([1], {1, 2, 3})");
    expect(rows(q.eval())).toEqual([{ a: 2, b: 4 }]);
  });

  it("raises eval_conflict_error for complete rules", () => {
    expect(() => policy.prepareRule("data.p.conflict").eval({ a: 1, b: 2 })).toThrow(RegoError);
    expect(() => policy.prepareRule("data.p.conflict").eval({ a: 1, b: 2 })).toThrow(
      /p\.rego:\d+: eval_conflict_error: complete rules must not produce multiple outputs/,
    );
    expect(policy.prepareRule("data.p.conflict").eval({ a: 1, b: 1 })).toBe(1);
  });

  it("supports every, partial sets and objects", () => {
    expect(policy.prepareRule("data.p.all_small").eval({ nums: [1, 2] })).toBe(true);
    expect(policy.prepareRule("data.p.all_small").eval({ nums: [1, 20] })).toBeUndefined();
    expect(toJS(policy.prepareRule("data.p.roles").eval({ roles: ["b", "a", "b"] }))).toEqual(["a", "b"]);
    expect(
      toJS(
        policy.prepareRule("data.p.by_name").eval({
          users: [
            { name: "x", age: 1 },
            { name: "y", age: 2 },
          ],
        }),
      ),
    ).toEqual({ x: 1, y: 2 });
  });

  it("returns query bindings in deterministic order", () => {
    const q = policy.prepareQuery("some x in {3, 1, 2}; y := x * 10");
    expect(rows(q.eval())).toEqual([
      { x: 1, y: 10 },
      { x: 2, y: 20 },
      { x: 3, y: 30 },
    ]);
  });

  it("applies with to input, data and functions", () => {
    const q = policy.prepareQuery(
      'a := data.p.level with input.role as "admin"; b := data.limits.max with data.limits.max as 9; c := data.p.size([1]) with count as 7',
    );
    expect(rows(q.eval({ input: { role: "x" } }))).toEqual([{ a: "admin", b: 9, c: 7 }]);
  });

  it("keeps integers beyond 2^53 exact", () => {
    const q = policy.prepareQuery("x := 18446744073709551614 + 1; y := 9007199254740993 * 2");
    const r = q.eval();
    expect(toJSONText(r.results[0].x)).toBe("18446744073709551615");
    expect(toJSONText(r.results[0].y)).toBe("18014398509481986");
  });

  it("reports builtin errors only in strict mode", () => {
    const q = policy.prepareQuery("x := 1 / 0");
    expect(q.eval().results).toEqual([]);
    const strict = q.eval({ strict: true });
    expect(strict.error?.code).toBe("eval_builtin_error");
    expect(strict.error?.message).toMatch(/div: divide by zero/);
  });

  it("sends print output to the sink", () => {
    const lines: string[] = [];
    policy
      .prepareQuery('print("hello", input.who, {1})')
      .eval({ input: { who: "you" }, print: (l) => lines.push(l) });
    expect(lines).toEqual(["hello you {1}"]);
  });

  it("lists test rules for test runners", () => {
    const p = compilePolicy({
      modules: {
        "t.rego":
          'package t\nallow if input.ok\ntest_allow if allow with input as {"ok": true}\ntest_deny if not allow',
      },
    });
    expect(p.tests().map((t) => t.path)).toEqual(["data.t.test_allow", "data.t.test_deny"]);
    expect(rows(p.prepareQuery("data.t.test_allow").eval())).toEqual([{}]);
  });
});

describe("custom builtins", () => {
  it("calls builtins passed to the policy and registered globally", () => {
    registerBuiltin("test_lang.double", ([x]) => (typeof x === "number" ? x * 2 : undefined), { arity: 1 });
    const p = compilePolicy({
      modules: { "c.rego": 'package c\nx := test_lang.double(21)\ny := warden.tag("a")' },
      builtins: new Map([
        ["warden.tag", { name: "warden.tag", arity: 1, impl: ([s]) => `tag:${String(s)}` }],
      ]),
    });
    expect(p.prepareRule("data.c.x").eval()).toBe(42);
    expect(p.prepareRule("data.c.y").eval()).toBe("tag:a");
  });
});

describe("rule indexing", () => {
  it("gives the same answers as evaluating every rule", () => {
    const tools = Array.from({ length: 40 }, (_, i) => `tool${i}`);
    const rules = tools
      .map(
        (t, i) =>
          `allow if { input.tool == "${t}"; input.level >= ${i % 5} }\nscore contains ${i} if input.tool == "${t}"`,
      )
      .join("\n");
    const p = compilePolicy({
      modules: {
        "idx.rego": `package idx\ndefault allow := false\n${rules}\nallow if input.admin\nscore contains -1 if input.admin`,
      },
    });
    const allow = p.prepareRule("data.idx.allow");
    const score = p.prepareRule("data.idx.score");
    expect(allow.eval({ tool: "tool7", level: 2 })).toBe(true);
    expect(allow.eval({ tool: "tool7", level: 1 })).toBe(false);
    expect(allow.eval({ tool: "nope", level: 9 })).toBe(false);
    expect(allow.eval({ tool: "nope", admin: true })).toBe(true);
    expect(allow.eval({ level: 9 })).toBe(false);
    expect(toJS(score.eval({ tool: "tool12", admin: true }))).toEqual([-1, 12]);
    expect(
      toJS(p.prepareQuery('x := data.idx.score with input.tool as "tool3"').eval({ input: {} }).results[0].x),
    ).toEqual([3]);
  });
});
