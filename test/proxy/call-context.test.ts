// RoutedCallContext: the CallContext the router builds per request (a class, not a literal).
import { describe, expect, it } from "vitest";
import { RoutedCallContext } from "../../src/pipeline/call-context.js";
import type { SessionState, Subject } from "../../src/pipeline/types.js";
import { LazyAbort } from "../../src/upstream/cancel.js";
import { scanEnvelope } from "../../src/upstream/envelope.js";
import { RawRequest, rawCallEnvelope } from "../../src/upstream/ndjson.js";

const subject: Subject = { user: "u", tenant: "t", roles: [], scopes: [], authMethod: "anonymous" };
const state: SessionState = { id: "s", callCount: 0, toolsCalled: [], flags: {} };

function make(source: Record<string, unknown> | RawRequest, abort = new LazyAbort()) {
  return new RoutedCallContext(
    7,
    "http",
    "dev",
    "tools/call",
    subject,
    state,
    { capabilities: {} },
    source,
    abort,
  );
}

describe("RoutedCallContext", () => {
  it("parses a request kept as bytes only when a stage reads ctx.params, and keeps what it sets", () => {
    const line =
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a__echo","arguments":{"x":1}}}';
    const raw = new RawRequest(Buffer.from(line), rawCallEnvelope(scanEnvelope(Buffer.from(line))) as never);
    const ctx = make(raw);
    expect(raw.isParsed).toBe(false);
    expect(ctx.params).toEqual({ name: "a__echo", arguments: { x: 1 } });
    expect(raw.isParsed).toBe(true);
    expect(ctx.params).toBe(ctx.params);
    ctx.params = { name: "a__echo", arguments: { x: 2 } };
    expect(ctx.params.arguments).toEqual({ x: 2 });
  });

  it("uses parsed params as given and fills the request's facts", () => {
    const params = { name: "a__echo" };
    const before = process.hrtime.bigint();
    const ctx = make(params);
    expect(ctx.params).toBe(params);
    expect(ctx).toMatchObject({ requestId: 7, transport: "http", environment: "dev", method: "tools/call" });
    expect(ctx.subject).toBe(subject);
    expect(ctx.session).toBe(state);
    expect(ctx.startedAt).toBeGreaterThanOrEqual(before);
    expect(ctx.startedAt).toBeLessThanOrEqual(process.hrtime.bigint());
    // Each context has its own findings and annotations.
    const other = make(params);
    ctx.findings.push({ detector: "pii", kind: "email", score: 1, location: "/", direction: "in" });
    ctx.annotations.a = 1;
    expect(other.findings).toEqual([]);
    expect(other.annotations).toEqual({});
  });

  it("gives a real AbortSignal tied to the call's cancellation, made on first read", () => {
    const abort = new LazyAbort();
    const ctx = make({}, abort);
    const signal = ctx.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(ctx.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    abort.abort("stop");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("stop");
  });
});
