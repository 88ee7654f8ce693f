// Escape suite for run_javascript (QuickJS in a WASI component): host globals, network,
// files, memory bombs, infinite loops and catastrophic regexes all fail the expected way,
// and normal calls keep being served meanwhile.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxProvider, type SandboxProvider } from "../../src/sandbox/index.js";
import { testCacheDir } from "./support.js";

let provider: SandboxProvider;
const js = (code: string, input?: unknown, tighter?: { timeoutMs: number }) =>
  provider.run("run_javascript", { code, input }, undefined, tighter);

beforeAll(async () => {
  provider = createSandboxProvider({
    cacheDir: testCacheDir,
    python: { enabled: false },
    poolSize: 2,
    // Roomy for memory bombs on a busy machine; loops get a tighter per-call limit below.
    limits: { timeoutMs: 15_000, memoryMiB: 48, maxOutputBytes: 4_096 },
  });
  // First use builds the QuickJS component (about a second, cached afterwards).
  await provider.warm();
}, 180_000);

afterAll(async () => {
  await provider?.close();
});

// The ECMAScript built-ins plus what QuickJS and componentize-qjs define, and our console/input.
const EXPECTED_GLOBALS = new Set(
  (
    "AggregateError,Array,ArrayBuffer,AsyncDisposableStack,BigInt,BigInt64Array,BigUint64Array,Boolean," +
    "DOMException,DataView,Date,DisposableStack,Error,EvalError,FinalizationRegistry,Float16Array,Float32Array," +
    "Float64Array,Function,Infinity,Int16Array,Int32Array,Int8Array,InternalError,Iterator,JSON,Map,Math,NaN," +
    "Number,Object,Promise,Proxy,RangeError,ReferenceError,Reflect,RegExp,Set,SharedArrayBuffer,String," +
    "SuppressedError,Symbol,SyntaxError,TypeError,URIError,Uint16Array,Uint32Array,Uint8Array,Uint8ClampedArray," +
    "WeakMap,WeakRef,WeakSet,__cqjs,atob,btoa,console,decodeURI,decodeURIComponent,encodeURI," +
    "encodeURIComponent,escape,eval,globalThis,input,isFinite,isNaN,parseFloat,parseInt,performance," +
    "queueMicrotask,undefined,unescape,wit"
  ).split(","),
);

describe("run_javascript", () => {
  it("returns stdout, stderr, the result value, exit status and usage", async () => {
    const res = await provider.callTool(
      "run_javascript",
      {
        code: "console.log('sum', input.a + input.b); console.error('careful'); ({ product: input.a * input.b })",
        input: { a: 6, b: 7 },
      },
      new AbortController().signal,
    );
    expect(res.isError).toBeUndefined();
    const out = res.structuredContent as Record<string, unknown>;
    expect(out).toMatchObject({
      status: "ok",
      stdout: "sum 13",
      stderr: "careful",
      result: { product: 42 },
      exitCode: 0,
    });
    expect((out.usage as { wallMs: number }).wallMs).toBeGreaterThan(0);
  });

  it("reports exceptions as tool errors", async () => {
    const res = await provider.callTool(
      "run_javascript",
      { code: "throw new TypeError('nope')" },
      new AbortController().signal,
    );
    expect(res.isError).toBe(true);
    expect(res.content[0].text).toContain("TypeError: nope");
    const bad = await provider.callTool("run_javascript", { code: 42 }, new AbortController().signal);
    expect(bad.isError).toBe(true);
    expect(bad.content[0].text).toContain('"code" must be a string');
  });

  it("has no host globals: process, require, fetch, sockets, files, WebAssembly", async () => {
    const r = await js(
      "[typeof process, typeof require, typeof module, typeof fetch, typeof XMLHttpRequest, typeof WebSocket," +
        " typeof Deno, typeof Bun, typeof std, typeof os, typeof WebAssembly, typeof Function('return this')().process]",
    );
    expect(r.status).toBe("ok");
    expect(r.result).toEqual(Array(12).fill("undefined"));
    const names = await js("Object.getOwnPropertyNames(globalThis)");
    for (const name of names.result as string[])
      expect(EXPECTED_GLOBALS.has(name), `unexpected global ${name}`).toBe(true);
  });

  it("cannot load host modules", async () => {
    const r = await js(
      "let state = 'pending'; import('node:fs').then(() => { state = 'LOADED' }, (e) => { state = 'refused' }); " +
        "try { require('fs') } catch (e) { state += ' / ' + e.name } state",
    );
    expect(r.result).not.toContain("LOADED");
    expect(r.result).toContain("ReferenceError");
  });

  it("keeps no state between calls", async () => {
    await js("globalThis.leak = 'secret'; Object.prototype.polluted = 1");
    const r = await js("[typeof leak, ({}).polluted]");
    expect(r.result).toEqual(["undefined", null]);
  });

  it("keeps no state between calls served from ready instances of every worker", async () => {
    // Each worker keeps several instances ready: every one of them must be distinct. Each
    // call marks its instance, then checks for a mark left by any earlier call.
    const mark =
      "const seen = globalThis.mark ?? null; globalThis.mark = 'used'; Object.prototype.p = 1; seen";
    const sequential = [];
    for (let i = 0; i < 8; i++) sequential.push(await js(mark));
    const concurrent = await Promise.all(Array.from({ length: 8 }, () => js(mark)));
    for (const r of [...sequential, ...concurrent]) {
      expect(r.status).toBe("ok");
      expect(r.result).toBeNull();
    }
  });

  it("stops a memory bomb at the cap", async () => {
    const r = await js("const keep = []; for (;;) keep.push(new ArrayBuffer(4 << 20))");
    expect(r.status).toBe("out_of_memory");
    expect(r.reason).toContain("memory limit of 48 MiB");
  });

  it("survives runaway recursion", async () => {
    const r = await js("function f(n) { return f(n + 1) + 1 } f(0)");
    expect(["error", "trap"]).toContain(r.status);
    expect((await js("1 + 1")).result).toBe(2);
  });

  it("stops output floods at the byte cap", async () => {
    const r = await js("for (;;) console.log('flood '.repeat(20))");
    expect(r.status).toBe("output_limit");
  });

  it("stops an infinite loop and a catastrophic regex while other calls are served", async () => {
    const loop = js("for (;;) {}", undefined, { timeoutMs: 2_000 });
    const regex = js("/^(a+)+$/.test('a'.repeat(64) + 'b')", undefined, { timeoutMs: 2_000 });
    const normal = await Promise.all([js("'still served'"), js("[1,2,3].map((x) => x * 2)")]);
    expect(normal.map((n) => n.result)).toEqual(["still served", [2, 4, 6]]);
    for (const r of await Promise.all([loop, regex])) {
      expect(r.status).toBe("timeout");
      expect(r.reason).toContain("2000 ms");
    }
    expect((await js("'after'")).result).toBe("after");
  });
});
