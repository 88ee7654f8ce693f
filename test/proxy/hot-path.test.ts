// Hot-path helpers: write coalescing (one write per I/O batch, scratch buffers for large strings),
// LazyAbort (cancellation without an AbortController per call) and call timeouts without a timer
// per call.
import { describe, expect, it } from "vitest";
import { batchedWriter } from "../../src/upstream/batch-writer.js";
import { LazyAbort } from "../../src/upstream/cancel.js";
import { UpstreamConnection } from "../../src/upstream/connection.js";
import type { Wire } from "../../src/upstream/wire.js";

function sink() {
  const writes: Array<string | Buffer> = [];
  const callbacks: Array<() => void> = [];
  return {
    writes,
    callbacks,
    write(chunk: string | Buffer, cb?: () => void) {
      // Large-string writes hand over a scratch buffer that is reused later: keep a copy.
      writes.push(Buffer.isBuffer(chunk) ? Buffer.from(chunk) : chunk);
      if (cb) callbacks.push(cb);
      return true;
    },
    cork() {},
    uncork() {},
  };
}
const tick = () => new Promise((r) => setImmediate(r));
const text = (writes: Array<string | Buffer>) => writes.map((w) => w.toString()).join("");

describe("batchedWriter", () => {
  it("coalesces chunks written in one turn into one write, in order", async () => {
    const s = sink();
    const write = batchedWriter(s);
    write("a\n");
    write(Buffer.from("b\n"));
    write("c\n");
    expect(s.writes).toHaveLength(0);
    await tick();
    expect(s.writes).toHaveLength(1);
    expect(text(s.writes)).toBe("a\nb\nc\n");
  });

  it("writes large strings through reused scratch buffers with the exact bytes", async () => {
    const s = sink();
    const write = batchedWriter(s);
    const big = `${"é€x".repeat(20_000)}\n`;
    write(big);
    await tick();
    expect(text(s.writes)).toBe(big);
    for (const cb of s.callbacks.splice(0)) cb();
    const other = `${"y".repeat(30_000)}\n`;
    write(other);
    write("small\n");
    await tick();
    expect(text(s.writes.slice(1))).toBe(`${other}small\n`);
  });
});

describe("LazyAbort", () => {
  it("runs listeners once on abort, honours removal, and makes a real signal only on demand", () => {
    const a = new LazyAbort();
    const seen: string[] = [];
    const removed = () => seen.push("removed");
    a.addEventListener("abort", () => seen.push("kept"));
    a.addEventListener("abort", removed);
    a.removeEventListener("abort", removed);
    a.abort("why");
    a.abort("again");
    expect(seen).toEqual(["kept"]);
    expect(a.aborted).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe("why");
  });

  it("runs the remaining listeners in the order they were added, whichever was removed", () => {
    const a = new LazyAbort();
    const seen: number[] = [];
    const l = [0, 1, 2, 3].map((n) => () => seen.push(n));
    for (const f of l) a.addEventListener("abort", f);
    a.removeEventListener("abort", l[0]);
    a.removeEventListener("abort", l[2]);
    a.addEventListener("abort", l[0]);
    a.removeEventListener("abort", () => {}); // not registered: nothing happens
    a.abort();
    expect(seen).toEqual([1, 3, 0]);
    a.addEventListener("abort", l[2]); // after the abort: never called
    expect(seen).toEqual([1, 3, 0]);
  });

  it("aborts a signal handed out earlier", () => {
    const a = new LazyAbort();
    const signal = a.signal;
    let fired = false;
    signal.addEventListener("abort", () => {
      fired = true;
    });
    a.abort();
    expect(fired).toBe(true);
    expect(signal.aborted).toBe(true);
  });
});

describe("UpstreamConnection call timeouts (one sweep timer per connection)", () => {
  function fakeWire() {
    const sent: Array<Record<string, unknown>> = [];
    const wire: Wire = {
      send: (m) => void sent.push(m as unknown as Record<string, unknown>),
      close: async () => {},
    };
    return { wire, sent };
  }
  const handlers = { onRequest: async () => ({}), onNotification() {}, onClose() {} };

  it("fails each request at its own deadline and leaves answered ones alone", async () => {
    const { wire, sent } = fakeWire();
    const conn = new UpstreamConnection("s", wire, handlers);
    const t0 = Date.now();
    const settledAt = (p: Promise<unknown>) =>
      p.then(
        () => ({ ok: true, ms: Date.now() - t0 }),
        (e: Error) => ({ ok: false, ms: Date.now() - t0, message: e.message }),
      );
    const slow = settledAt(conn.request("tools/call", { name: "a" }, { timeoutMs: 300 }));
    const fast = settledAt(conn.request("tools/call", { name: "b" }, { timeoutMs: 60 }));
    const answered = settledAt(conn.request("tools/call", { name: "c" }, { timeoutMs: 100 }));
    wire.onmessage?.({ jsonrpc: "2.0", id: 3, result: { ok: 1 } });
    const [a, b, c] = await Promise.all([slow, fast, answered]);
    expect(c.ok).toBe(true);
    expect(b).toMatchObject({ ok: false, message: "server 's' did not answer tools/call within 60 ms" });
    expect(a).toMatchObject({ ok: false, message: "server 's' did not answer tools/call within 300 ms" });
    expect(b.ms).toBeGreaterThanOrEqual(59);
    expect(a.ms).toBeGreaterThanOrEqual(299);
    expect(a.ms).toBeGreaterThan(b.ms);
    const cancels = sent.filter((m) => m.method === "notifications/cancelled").map((m) => m.params);
    expect(cancels).toEqual([
      { requestId: 2, reason: "timeout" },
      { requestId: 1, reason: "timeout" },
    ]);
    // A late answer after the timeout is dropped.
    wire.onmessage?.({ jsonrpc: "2.0", id: 1, result: {} });
  });
});

describe("UpstreamConnection onSettled (bookkeeping without a promise reaction)", () => {
  const handlers = { onRequest: async () => ({}), onNotification() {}, onClose() {} };

  it("is called once, before the answer's reactions, however the request ends", async () => {
    const sent: Array<Record<string, unknown>> = [];
    let failSend = false;
    const wire: Wire = {
      send: (m) => {
        if (failSend) throw new Error("pipe gone");
        sent.push(m as unknown as Record<string, unknown>);
      },
      close: async () => {},
    };
    const conn = new UpstreamConnection("s", wire, handlers);
    expect(conn.callsOnSettled).toBe(true);
    const log: string[] = [];
    const track = (label: string, p: Promise<unknown>) =>
      p.then(
        () => log.push(`${label}: answered`),
        (e: Error) => log.push(`${label}: ${e.message}`),
      );
    const opts = (label: string, signal?: LazyAbort) => ({
      timeoutMs: 10_000,
      signal,
      owner: "o",
      onSettled: () => log.push(`${label}: settled`),
    });

    const answered = track("a", conn.request("tools/call", {}, opts("a")));
    wire.onmessage?.({ jsonrpc: "2.0", id: 1, result: {} });
    wire.onmessage?.({ jsonrpc: "2.0", id: 1, result: {} }); // a second answer changes nothing
    await answered;

    const cancel = new LazyAbort();
    const cancelled = track("b", conn.request("tools/call", {}, opts("b", cancel)));
    cancel.abort("user");
    await cancelled;

    const early = new LazyAbort();
    early.abort();
    await track("c", conn.request("tools/call", {}, opts("c", early)));

    failSend = true;
    await track("d", conn.request("tools/call", {}, opts("d")));
    failSend = false;

    await conn.close();
    await track("e", conn.request("tools/call", {}, opts("e")));

    expect(log).toEqual([
      "a: settled",
      "a: answered",
      "b: settled",
      "b: request cancelled",
      "c: settled",
      "c: request cancelled",
      "d: settled",
      "d: pipe gone",
      "e: settled",
      "e: server 's' closed",
    ]);
    // Nothing is left waiting: a failed send is forgotten at once, not at its deadline.
    expect(conn.owners().size).toBe(0);
  });
});
