// The per-server cap on one downstream message (maxAnswerBytes): the line and SSE readers drop an
// oversize message without holding it whole, the call fails with a clear error, warden logs it,
// and the connection carries on. Real fixture servers (stdio, and Streamable HTTP answering with
// SSE and with JSON) that answer too large.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { DEFAULT_MAX_ANSWER_BYTES } from "../../src/config/schema.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { createWarden, type Warden } from "../../src/server/warden.js";
import { lineBufferSplitter } from "../../src/upstream/ndjson.js";
import { sseParser } from "../../src/upstream/streamable-wire.js";
import { FIXTURE, fixture, httpClient, ROOT, textOf } from "./helpers.js";

const CAP = 64 * 1024;

describe("the line reader's cap", () => {
  function reader(max: number) {
    const lines: string[] = [];
    const dropped: Array<[number, number | undefined]> = [];
    const feed = lineBufferSplitter((l) => lines.push(l.toString()), undefined, {
      maxBytes: max,
      onoversize: (bytes, id) => dropped.push([bytes, id]),
    });
    return { lines, dropped, feed: (s: string) => feed(Buffer.from(s)) };
  }

  it("drops a long line whether it comes whole or in pieces, and goes on with the next", () => {
    const r = reader(40);
    const big = `{"result":{"text":"${"x".repeat(60)}"},"jsonrpc":"2.0","id":17}`;
    r.feed(`${big}\n{"a":1}\n`);
    for (let i = 0; i < big.length; i += 7) r.feed(big.slice(i, i + 7));
    r.feed('\r\n{"b":2}\n');
    expect(r.dropped).toEqual([
      [big.length, 17],
      [big.length + 1, 17],
    ]);
    expect(r.lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it("accepts a line of exactly maxBytes, and finds an id written first", () => {
    const r = reader(20);
    r.feed(`${"y".repeat(20)}\n`);
    r.feed(`{"jsonrpc":"2.0","id":5,"result":{"t":"${"z".repeat(30)}`);
    r.feed('"}}\n{"method":"notifications/message","params":{"level":"info","data":"long enough"}}\n');
    expect(r.lines).toEqual(["y".repeat(20)]);
    expect(r.dropped.map(([, id]) => id)).toEqual([5, undefined]); // a notification has no call to fail
  });
});

describe("the SSE reader's cap", () => {
  it("reports an event whose data outgrows the cap once, and reads no further", () => {
    const events: string[] = [];
    let dropped = 0;
    const feed = sseParser((data) => events.push(data.toString()), undefined, {
      maxBytes: 32,
      onoversize: () => dropped++,
    });
    feed(Buffer.from("data: small\n\n"));
    feed(Buffer.from(`data: ${"x".repeat(20)}\ndata: ${"x".repeat(20)}`));
    feed(Buffer.from("\n\ndata: after\n\n"));
    expect(events).toEqual(["small"]);
    expect(dropped).toBe(1);
  });
});

describe("maxAnswerBytes in warden.yaml", () => {
  it("defaults to 32 MiB and refuses values that are not a byte count from 1024 to 512 MiB", () => {
    const ok = parseConfig({ servers: { a: { command: "x" }, b: { url: "http://127.0.0.1:1/mcp" } } });
    expect(ok.config.servers.a).toMatchObject({ maxAnswerBytes: DEFAULT_MAX_ANSWER_BYTES });
    expect(ok.config.servers.b).toMatchObject({ maxAnswerBytes: 32 * 1024 * 1024 });
    for (const bad of [100, 1.5, "1MB", 2 ** 30]) {
      expect(() => parseConfig({ servers: { a: { command: "x", maxAnswerBytes: bad } } })).toThrow(
        /maxAnswerBytes/,
      );
    }
  });
});

/** Starts the echo fixture as a Streamable HTTP server; resolves with its URL. */
async function httpFixture(
  name: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, FIXTURE_NAME: name, FIXTURE_HTTP_PORT: "0", FIXTURE_BIG_TOOL: "1", ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error(`${name} fixture exited`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

describe("an answer over maxAnswerBytes through warden", () => {
  let warden: Warden;
  let url: string;
  const logged: string[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    const sse = await httpFixture("sse", {});
    const json = await httpFixture("json", { FIXTURE_JSON_RESPONSE: "1" });
    children.push(sse.child, json.child);
    const servers = {
      local: fixture("local", { maxAnswerBytes: CAP }, { FIXTURE_BIG_TOOL: "1" }),
      sse: { url: sse.url, maxAnswerBytes: CAP },
      json: { url: json.url, maxAnswerBytes: CAP },
    };
    warden = await createWarden({
      config: { servers, http: {} },
      env: "test",
      registry: parseRegistry(
        { servers: Object.fromEntries(Object.keys(servers).map((s) => [s, { tools: ["*"] }])) },
        "test",
      ),
      log: (level, msg) => {
        if (level === "warn") logged.push(msg);
      },
    });
    url = (await warden.listenHttp({ port: 0 })).url;
  });
  afterAll(async () => {
    await warden?.close();
    for (const c of children) c.kill();
  });

  for (const server of ["local", "sse", "json"]) {
    it(`fails the call, logs it and keeps serving (${server})`, async () => {
      const client = await httpClient(url, `c-${server}`);
      try {
        const before = textOf(await client.callTool({ name: `${server}__whoami`, arguments: {} }));
        // Under the cap (the 256 KB benchmark answers need a cap above them: the default is 32 MiB).
        const fits = await client.callTool({ name: `${server}__big`, arguments: { bytes: CAP - 1024 } });
        expect(textOf(fits)).toHaveLength(CAP - 1024);
        const err = await client.callTool({ name: `${server}__big`, arguments: { bytes: 4 * CAP } }).then(
          () => undefined,
          (e: Error & { code?: number }) => e,
        );
        expect(err?.code).toBe(-32000);
        expect(err?.message).toMatch(
          new RegExp(
            `server '${server}' sent a message of (more than )?\\d+ bytes, over its maxAnswerBytes limit of ${CAP}`,
          ),
        );
        expect(
          logged.some((l) => l.startsWith(`server '${server}' sent a message of`) && l.includes("failed")),
        ).toBe(true);
        // The same connection (same process, same pid) answers the next call.
        expect(
          textOf(await client.callTool({ name: `${server}__echo`, arguments: { text: "still here" } })),
        ).toBe(`${server}: still here`);
        expect(textOf(await client.callTool({ name: `${server}__whoami`, arguments: {} }))).toBe(before);
      } finally {
        await client.close();
      }
    });
  }
});
