// Hot-path helpers: write coalescing (one write per I/O batch, scratch buffers for large strings)
// and LazyAbort (cancellation without an AbortController per call).
import { describe, expect, it } from "vitest";
import { batchedWriter } from "../../src/upstream/batch-writer.js";
import { LazyAbort } from "../../src/upstream/cancel.js";

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
