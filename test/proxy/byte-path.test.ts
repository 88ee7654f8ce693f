// The stdio front door's byte path: when no stage reads a tools/call's params, the request is
// forwarded as the client's bytes with only id, tool name and progress token rewritten. These
// tests drive warden's stdio front door with raw NDJSON lines against the real fixture server.
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Stage } from "../../src/pipeline/types.js";
import type { Warden } from "../../src/server/warden.js";
import { scanEnvelope } from "../../src/upstream/envelope.js";
import { lineSplitter, RawRequest, RawResult, rawCallEnvelope } from "../../src/upstream/ndjson.js";
import { fixture, makeWarden } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: replies are JSON, checked field by field below.
type Msg = Record<string, any>;

/** A raw NDJSON client on warden's stdio front door (in-process, over PassThrough streams). */
function stdioClient(warden: Warden) {
  const input = new PassThrough();
  const output = new PassThrough();
  const door = warden.serveStdio({ input, output });
  const received: Msg[] = [];
  const waiters: Array<() => void> = [];
  output.on(
    "data",
    lineSplitter((line) => {
      received.push(JSON.parse(line));
      for (const w of waiters.splice(0)) w();
    }),
  );
  const next = async (pred: (m: Msg) => boolean, ms = 10_000): Promise<Msg> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = received.findIndex(pred);
      if (i >= 0) return received.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no matching message; received ${JSON.stringify(received)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return {
    send: (line: string) => input.write(`${line}\n`),
    answer: (id: unknown) => next((m) => m.id === id && ("result" in m || "error" in m)),
    next,
    received,
    close: () => door.close(),
  };
}

const call = (id: unknown, name: string, args: Msg = {}, meta?: Msg) =>
  JSON.stringify({
    method: "tools/call",
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
    jsonrpc: "2.0",
    id,
  });

const servers = { a: fixture("a") };
const registry = { servers: { a: { tools: ["echo", "slow", "whoami", "size"] } } };

describe("stdio byte path (no stage reads params)", () => {
  let warden: Warden;
  let client: ReturnType<typeof stdioClient>;
  const rewrites = vi.spyOn(RawRequest.prototype, "rewrite");

  beforeAll(async () => {
    warden = await makeWarden({ servers, registry });
    client = stdioClient(warden);
    client.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    );
    await client.answer(0);
  });
  afterAll(async () => {
    await client.close();
    await warden.close();
  });
  afterEach(() => rewrites.mockClear());

  it("is on for the registry stage alone", () => {
    expect(warden.router.forwardsRawCalls).toBe(true);
  });

  it("forwards calls as bytes and answers with the client's ids, string or number", async () => {
    client.send(call(7, "a__echo", { text: "hi" }));
    client.send(call('id "with" \\escapes\\ é', "a__echo", { text: "there" }));
    expect((await client.answer(7)).result.content[0].text).toBe("a: hi");
    expect((await client.answer('id "with" \\escapes\\ é')).result.content[0].text).toBe("a: there");
    expect(rewrites).toHaveBeenCalledTimes(2);
  });

  it("keeps a 256 KB argument with multi-byte characters intact", async () => {
    const text = 'é€😀 "quoted" \\ '.repeat(14_000);
    client.send(call(8, "a__echo", { text, other: { name: "not the tool", id: 1 } }));
    const reply = await client.answer(8);
    expect(reply.result.content[0].text).toBe(`a: ${text}`);
    expect(rewrites).toHaveBeenCalledTimes(1);
    expect(Array.isArray(rewrites.mock.results[0].value)).toBe(true); // pieces of the original bytes
  });

  it("routes progress back with the client's token", async () => {
    client.send(call(9, "a__slow", { ms: 40 }, { progressToken: "tok-9" }));
    const first = await client.next((m) => m.method === "notifications/progress");
    expect(first.params).toMatchObject({ progressToken: "tok-9", progress: 1, total: 2 });
    expect((await client.answer(9)).result.content[0].text).toBe("slow done");
    expect((await client.next((m) => m.method === "notifications/progress")).params.progressToken).toBe(
      "tok-9",
    );
    expect(rewrites).toHaveBeenCalledTimes(1);
  });

  it("cancels the downstream call on notifications/cancelled and sends no answer", async () => {
    client.send(call("c1", "a__slow", { ms: 600, tag: "c1" }));
    await new Promise((r) => setTimeout(r, 100));
    client.send(
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "c1" } }),
    );
    client.send(call(10, "a__whoami"));
    await new Promise((r) => setTimeout(r, 700));
    client.send(call(11, "a__whoami"));
    expect((await client.answer(11)).result.content[0].text).toContain("cancelled=c1");
    expect(client.received.some((m) => m.id === "c1")).toBe(false);
    await client.answer(10);
  });

  it("still refuses tools the registry does not expose, and unknown servers", async () => {
    client.send(call(12, "a__secret_tool"));
    const refused = await client.answer(12);
    expect(refused.error.code).toBe(-32602);
    expect(refused.error.message).toContain("not exposed");
    client.send(call(13, "nosuch__echo"));
    expect((await client.answer(13)).error.message).toContain("tool 'nosuch__echo' is not exposed");
  });

  it("answers malformed lines with a JSON-RPC error and keeps serving", async () => {
    client.send(
      '{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"x}}',
    );
    const parseError = await client.next((m) => m.error?.code === -32700);
    expect(parseError.id).toBeNull();
    client.send(
      '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"ctl\u0001"}}}',
    );
    expect((await client.next((m) => m.error?.code === -32700)).id).toBeNull();
    client.send('{"jsonrpc":"1.0","id":16,"method":"tools/call","params":{"name":"a__echo"}}');
    expect((await client.answer(16)).error.code).toBe(-32600);
    client.send('{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":5}}');
    expect((await client.answer(17)).error.code).toBe(-32602);
    client.send(call(18, "a__echo", { text: "still here" }));
    expect((await client.answer(18)).result.content[0].text).toBe("a: still here");
  });
});

describe("stdio byte path off", () => {
  it("parses calls when a stage reads params, and forwards the stage's rewrite", async () => {
    const redact: Stage = {
      name: "redact",
      before(ctx) {
        ctx.params.arguments = { text: "[redacted]" };
      },
    };
    const warden = await makeWarden({ servers, registry, stages: [redact] });
    const client = stdioClient(warden);
    try {
      expect(warden.router.forwardsRawCalls).toBe(false);
      client.send(call(1, "a__echo", { text: "secret" }));
      expect((await client.answer(1)).result.content[0].text).toBe("a: [redacted]");
    } finally {
      await client.close();
      await warden.close();
    }
  });

  it("forwards the parsed params when a stage that declared params: false reads them anyway", async () => {
    const sloppy: Stage = {
      name: "sloppy",
      reads: { params: false },
      before(ctx) {
        (ctx.params.arguments as Msg).text = "changed";
      },
    };
    const warden = await makeWarden({ servers, registry, stages: [sloppy] });
    const client = stdioClient(warden);
    try {
      expect(warden.router.forwardsRawCalls).toBe(true);
      client.send(call(1, "a__echo", { text: "original" }));
      expect((await client.answer(1)).result.content[0].text).toBe("a: changed");
    } finally {
      await client.close();
      await warden.close();
    }
  });

  it("is not affected by stages limited to other methods", async () => {
    const prompts: Stage = { name: "prompts-only", reads: { methods: ["prompts/get"] }, before() {} };
    const warden = await makeWarden({ servers, registry, stages: [prompts] });
    try {
      expect(warden.router.forwardsRawCalls).toBe(true);
      expect(warden.pipeline.readsParams("prompts/get")).toBe(true);
    } finally {
      await warden.close();
    }
  });
});

describe("RawRequest.rewrite", () => {
  const raw = (line: string) =>
    new RawRequest(Buffer.from(line), rawCallEnvelope(scanEnvelope(Buffer.from(line))) as never);

  it("replaces only id, tool name and progress token, byte for byte elsewhere", () => {
    const line =
      '{ "id" : "x" ,"jsonrpc":"2.0","params":{"_meta":{"progressToken":"p","k":1},"arguments":{"name":"n","id":2},"name":"s__t\\u00e9"},"method":"tools/call"}';
    const out = raw(line).rewrite(41, "té", "w41") as string;
    expect(out).toBe(
      '{ "id" : 41 ,"jsonrpc":"2.0","params":{"_meta":{"progressToken":"w41","k":1},"arguments":{"name":"n","id":2},"name":"té"},"method":"tools/call"}\n',
    );
    expect(raw(line).rewrite(5, "t")).toContain('"progressToken":"p"');
  });

  it("rewrites id and name byte for byte in either order when no progress token is replaced", () => {
    const idFirst =
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"s__a","arguments":{"q":"é"}}}';
    expect(raw(idFirst).rewrite(12, "a")).toBe(
      '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"a","arguments":{"q":"é"}}}\n',
    );
    const nameFirst =
      '{"params":{"arguments":{},"name":"s__\\b"} , "method":"tools/call","id":"c-1","jsonrpc":"2.0"}';
    expect(raw(nameFirst).rewrite(3, '\\b"')).toBe(
      '{"params":{"arguments":{},"name":"\\\\b\\""} , "method":"tools/call","id":3,"jsonrpc":"2.0"}\n',
    );
  });

  it("orders three edits whatever their order in the line", () => {
    const tokenFirst =
      '{"params":{"_meta":{"progressToken":7},"name":"s__x","arguments":{}},"id":1,"jsonrpc":"2.0","method":"tools/call"}';
    expect(raw(tokenFirst).rewrite(9, "x", "w9")).toBe(
      '{"params":{"_meta":{"progressToken":"w9"},"name":"x","arguments":{}},"id":9,"jsonrpc":"2.0","method":"tools/call"}\n',
    );
    const nameFirst =
      '{"params":{"name":"s__x","arguments":{"t":"é"},"_meta":{"progressToken":"p"}},"id":1,"jsonrpc":"2.0","method":"tools/call"}';
    expect(raw(nameFirst).rewrite(2, "x", "w2")).toBe(
      '{"params":{"name":"x","arguments":{"t":"é"},"_meta":{"progressToken":"w2"}},"id":2,"jsonrpc":"2.0","method":"tools/call"}\n',
    );
    const large = `{"params":{"_meta":{"progressToken":"p"},"name":"s__x","arguments":{"t":"${"é".repeat(5000)}"}},"id":1,"jsonrpc":"2.0","method":"tools/call"}`;
    const pieces = raw(large).rewrite(3, "x", "w3") as Buffer[];
    expect(Buffer.concat(pieces).toString()).toBe(
      `${large.replace('"progressToken":"p"', '"progressToken":"w3"').replace('"s__x"', '"x"').replace('"id":1', '"id":3')}\n`,
    );
  });

  it("returns large requests as pieces of the original bytes", () => {
    const text = "x".repeat(100_000);
    const line = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "s__t", arguments: { text } },
    });
    const pieces = raw(line).rewrite(2, "t") as Buffer[];
    expect(Array.isArray(pieces)).toBe(true);
    expect(JSON.parse(Buffer.concat(pieces).toString())).toEqual({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "t", arguments: { text } },
    });
  });
});

describe("result byte path (after hooks that read only isError)", () => {
  it("forwards answers as bytes while the hooks still see the top-level isError", async () => {
    const seen: Array<{ raw: boolean; isError: unknown }> = [];
    const flags: Stage = {
      name: "flags",
      reads: { params: false, result: "isError" },
      after(ctx) {
        seen.push({ raw: ctx.result instanceof RawResult, isError: (ctx.result as Msg).isError });
      },
    };
    const warden = await makeWarden({ servers, registry, stages: [flags] });
    const client = stdioClient(warden);
    try {
      expect(warden.pipeline.forwardsRawResults("tools/call")).toBe(true);
      client.send(call(1, "a__echo", { text: "fine" }));
      client.send(call(2, "a__echo", { text: "bad", isError: true }));
      client.send(call(3, "a__echo", { text: "nested", nestedIsError: true }));
      const ok = await client.answer(1);
      const bad = await client.answer(2);
      const nested = await client.answer(3);
      expect(ok.result.content[0].text).toBe("a: fine");
      expect(bad.result).toMatchObject({ isError: true, content: [{ text: "a: bad" }] });
      expect(nested.result).toMatchObject({ structuredContent: { isError: true } });
      expect(nested.result.isError).toBeUndefined();
      expect(seen).toEqual([
        { raw: true, isError: false },
        { raw: true, isError: true },
        { raw: true, isError: false },
      ]);
    } finally {
      await client.close();
      await warden.close();
    }
  });

  it("parses answers when an after hook reads the whole result", async () => {
    const seen: boolean[] = [];
    const reader: Stage = {
      name: "reader",
      reads: { params: false },
      after(ctx) {
        seen.push(ctx.result instanceof RawResult);
        (ctx.result as Msg).content[0].text += " (seen)";
      },
    };
    const isErrorOnly: Stage = { name: "flags", reads: { params: false, result: "isError" }, after() {} };
    const warden = await makeWarden({ servers, registry, stages: [isErrorOnly, reader] });
    const client = stdioClient(warden);
    try {
      expect(warden.pipeline.forwardsRawResults("tools/call")).toBe(false);
      client.send(call(1, "a__echo", { text: "x" }));
      expect((await client.answer(1)).result.content[0].text).toBe("a: x (seen)");
      expect(seen).toEqual([false]);
    } finally {
      await client.close();
      await warden.close();
    }
  });
});
