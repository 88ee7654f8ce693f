// Busy-polling for fast downstream answers (servers.<name>.busyPollMicros): while a request is in
// flight the event loop keeps turning instead of sleeping, for at most the budget, and not at all
// for a server whose answers take longer than the budget. "Turning" is measured with Node's event
// loop utilisation: a loop that sleeps in epoll is idle, one that spins is busy. That it stops is
// read from the spin's own state: idle-time figures are not reliable on a loaded machine.

import { performance } from "node:perf_hooks";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { WardenMetrics } from "../../src/metrics/registry.js";
import { META_CAPS, META_VERSION } from "../../src/server/revision-2026.js";
import type { Warden } from "../../src/server/warden.js";
import {
  AUTO_BUDGET_MICROS,
  BusyPoll,
  busyPollBudget,
  busyPolling,
  busyPollSeconds,
  ClientPace,
  callerUnknown,
  requestSettled,
  requestStarted,
} from "../../src/upstream/busy-poll.js";
import { cgroupV1Cpus, cgroupV2Cpus, usableCpus } from "../../src/upstream/usable-cpus.js";
import { type Running, startFixtureHttp } from "../fixtures/servers/child-process.js";
import { fixture, httpClient, makeWarden, textOf } from "./helpers.js";

/** The share of `ms` the event loop spent busy (1 = never slept). */
async function utilisation(ms: number): Promise<number> {
  const before = performance.eventLoopUtilization();
  await sleep(ms);
  return performance.eventLoopUtilization(before).utilization;
}

/**
 * Whether the spin stops within 500 ms. It notices a release or a passed deadline on its next
 * turn, which on a loaded machine may come several ms late.
 */
async function spinStopped(): Promise<boolean> {
  const deadline = performance.now() + 500;
  while (busyPolling() && performance.now() < deadline) await sleep(1);
  return !busyPolling();
}

/** What a connection does when it writes a request: counts it, then asks its server's BusyPoll. */
function send(poll: BusyPoll): { at: number; held: boolean } {
  requestStarted();
  const at = performance.now();
  return { at, held: poll.sent(at) };
}

/** What a connection does when the request settles. */
function answer(poll: BusyPoll, request: { at: number; held: boolean }): void {
  poll.answered(request.at, request.held);
  requestSettled();
}

describe("BusyPoll", () => {
  it("keeps the loop turning while a request is in flight and lets it sleep once answered", async () => {
    const poll = new BusyPoll(100_000); // 100 ms budget, far above the windows measured here
    const request = send(poll);
    expect(request.held).toBe(true);
    expect(await utilisation(40)).toBeGreaterThan(0.6);
    expect(busyPolling()).toBe(true);
    answer(poll, request);
    await sleep(5); // the spin notices the release on its next turn
    expect(busyPolling()).toBe(false);
  });

  it("stops at its budget when no answer comes", async () => {
    const poll = new BusyPoll(20_000); // 20 ms
    const request = send(poll);
    expect(busyPolling()).toBe(true);
    while (performance.now() < request.at + 20) await sleep(5);
    await sleep(5);
    expect(busyPolling()).toBe(false); // still unanswered, but past its budget
    answer(poll, request);
  });

  it("turns only while one request is in flight in the process, polled for or not", async () => {
    const poll = new BusyPoll(100_000);
    const first = send(poll);
    const second = send(poll);
    await sleep(5);
    expect(busyPolling()).toBe(false); // two in flight: the loop sleeps until an answer comes
    answer(poll, second);
    expect(await utilisation(30)).toBeGreaterThan(0.6); // one left: it turns again
    requestStarted(); // a request to a server without busy-polling counts all the same
    await sleep(5);
    expect(busyPolling()).toBe(false);
    requestSettled();
    answer(poll, first);
    await sleep(5);
    expect(busyPolling()).toBe(false);
  });

  it("does not poll for a server whose answers take longer than the budget, until they are fast again", async () => {
    const poll = new BusyPoll(1_000); // 1 ms
    for (let i = 0; i < 20; i++) poll.answered(performance.now() - 50, false); // 50 ms answers
    expect(poll.average).toBeGreaterThan(1);
    const slow = send(poll);
    expect(slow.held).toBe(false);
    expect(busyPolling()).toBe(false);
    answer(poll, slow);
    for (let i = 0; i < 60; i++) poll.answered(performance.now(), false); // instant answers
    expect(poll.average).toBeLessThan(1);
    const fast = send(poll);
    expect(fast.held).toBe(true);
    answer(poll, fast);
    await sleep(5);
  });
});

describe("busy_poll_seconds_total", () => {
  it("counts the time the loop was kept turning, read at scrape time", async () => {
    const metrics = new WardenMetrics({ processMetrics: false });
    const value = async () => {
      const metric = await metrics.registry.getSingleMetric("busy_poll_seconds_total")?.get();
      return metric?.values[0]?.value ?? Number.NaN;
    };
    const before = await value();
    const poll = new BusyPoll(30_000); // 30 ms, unanswered: the spin runs to its budget
    const request = send(poll);
    while (performance.now() < request.at + 40) await sleep(5);
    answer(poll, request);
    const after = await value();
    expect(after - before).toBeGreaterThanOrEqual(0.029);
    expect(after - before).toBeLessThan(1);
    expect(await value()).toBe(after); // nothing spun since: no change
  });
});

describe("busyPollMicros in warden.yaml", () => {
  it("defaults to auto and refuses negative, fractional, huge and unknown values with the path", () => {
    const ok = parseConfig({ servers: { s: { command: "x" }, r: { url: "http://127.0.0.1:1/mcp" } } });
    expect(ok.config.servers.s).toMatchObject({ busyPollMicros: "auto" });
    expect(ok.config.servers.r).toMatchObject({ busyPollMicros: "auto" });
    expect(ok.config.http.busyPollMicros).toBe("auto");
    expect(
      parseConfig({ servers: { s: { command: "x", busyPollMicros: 0 } } }).config.servers.s,
    ).toMatchObject({
      busyPollMicros: 0,
    });
    for (const bad of [-1, 1.5, 100_001, "fast", null]) {
      expect(() => parseConfig({ servers: { s: { command: "x", busyPollMicros: bad } } })).toThrow(
        /servers\.s\.busyPollMicros: .*(microseconds|auto)/,
      );
    }
    expect(() => parseConfig({ http: { busyPollMicros: "on" } })).toThrow(
      /http\.busyPollMicros: "auto" or a whole number of microseconds/,
    );
    // Builtin (in-process) servers have no wire to wait on.
    expect(() => parseConfig({ servers: { b: { builtin: "sandbox", busyPollMicros: 10 } } })).toThrow(
      /busyPollMicros/,
    );
  });

  it("auto is 1000 µs for tight clients where two CPUs are usable, and off on one", () => {
    expect(busyPollBudget("auto", 2)).toEqual({ micros: AUTO_BUDGET_MICROS, adaptive: true });
    expect(busyPollBudget("auto", 1.5)).toBeUndefined(); // a container quota of 1.5 CPUs
    expect(busyPollBudget("auto", 1)).toBeUndefined();
    expect(busyPollBudget(250, 1)).toEqual({ micros: 250, adaptive: false }); // a number is obeyed
    expect(busyPollBudget(0, 8)).toBeUndefined();
  });

  it("reads a container's CPU quota from cgroup v2 and v1 files", () => {
    expect(cgroupV2Cpus("max 100000\n")).toBeUndefined();
    expect(cgroupV2Cpus("150000 100000\n")).toBe(1.5);
    expect(cgroupV2Cpus("50000")).toBe(0.5); // period left out: the kernel's default, 100 ms
    expect(cgroupV1Cpus("-1\n", "100000\n")).toBeUndefined();
    expect(cgroupV1Cpus("200000\n", "100000\n")).toBe(2);
    expect(usableCpus()).toBeGreaterThan(0);
  });
});

describe("ClientPace", () => {
  /** `n` request/answer rounds, `gapMs` from each answer to the next request. */
  async function rounds(pace: ClientPace, n: number, gapMs: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      pace.asked();
      pace.answered();
      if (gapMs > 0) await sleep(gapMs);
    }
  }

  it("takes a client for looping after a run of quick calls, and not before", async () => {
    const pace = new ClientPace();
    expect(pace.looping).toBe(false); // a new client is not assumed to be in a hurry
    await rounds(pace, 5, 0);
    expect(pace.looping).toBe(false);
    await rounds(pace, 20, 0);
    expect(pace.looping).toBe(true);
  });

  it("never takes a client for looping that pauses between calls, and lets one go that starts to", async () => {
    const paced = new ClientPace();
    await rounds(paced, 20, 15); // 15 ms from an answer to the next request: above the 10 ms mark
    expect(paced.looping).toBe(false);
    const quick = new ClientPace();
    await rounds(quick, 30, 0);
    expect(quick.looping).toBe(true);
    await rounds(quick, 4, 45);
    expect(quick.looping).toBe(false);
  });

  it("tells auto servers whether the latest request's client calls in a loop", async () => {
    const poll = new BusyPoll(100_000, true);
    const paced = new ClientPace();
    paced.asked();
    const refused = send(poll);
    expect(refused.held).toBe(false); // a client not known to loop: no polling for it
    answer(poll, refused);
    const quick = new ClientPace();
    await rounds(quick, 30, 0);
    quick.asked();
    const held = send(poll);
    expect(held.held).toBe(true);
    expect(busyPolling()).toBe(true);
    answer(poll, held);
    callerUnknown(); // a door that does not time its clients (stateless HTTP, legacy SSE)
    const unknown = send(poll);
    expect(unknown.held).toBe(false);
    answer(poll, unknown);
    expect(await spinStopped()).toBe(true);
  });

  it("lingers after an answer on auto only for a client whose next request comes within the budget", async () => {
    const auto = busyPollBudget("auto", 2);
    const fresh = new ClientPace(auto);
    fresh.asked();
    fresh.answered();
    expect(busyPolling()).toBe(false);
    const quick = new ClientPace(auto);
    await rounds(quick, 60, 0); // average gap well under 1 ms
    expect(quick.averageGap).toBeLessThan(1);
    expect(busyPolling()).toBe(true); // the last answer's linger
    expect(await spinStopped()).toBe(true);
    // A number lingers whatever the client's pace.
    const fixed = new ClientPace({ micros: 20_000, adaptive: false });
    fixed.asked();
    fixed.answered();
    expect(busyPolling()).toBe(true);
    await sleep(20);
    expect(await spinStopped()).toBe(true);
  });
});

describe("warden with busy-polling servers", () => {
  let remote: Running & { url: string };
  let warden: Warden;
  let url: string;

  beforeAll(async () => {
    remote = await startFixtureHttp();
    warden = await makeWarden({
      servers: {
        a: fixture("a", { busyPollMicros: 100_000 }),
        r: { url: remote.url, busyPollMicros: 100_000 },
      },
      registry: { servers: { a: { tools: ["echo", "slow"] }, r: { tools: ["echo"] } } },
    });
    url = (await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url;
  }, 60_000);
  afterAll(async () => {
    await warden?.close();
    await remote?.stop();
  });

  it("answers calls to stdio and Streamable HTTP servers and spins only while a call is in flight", async () => {
    const client = await httpClient(url, "c");
    try {
      expect(textOf(await client.callTool({ name: "a__echo", arguments: { text: "hi" } }))).toBe("a: hi");
      expect(textOf(await client.callTool({ name: "r__echo", arguments: { text: "hi" } }))).toContain("hi");
      // An 80 ms call: the loop spins while it is in flight (within the 100 ms budget), so it is
      // busy for most of the call, where it would otherwise sleep...
      const before = performance.eventLoopUtilization();
      await client.callTool({ name: "a__slow", arguments: { ms: 80 } });
      expect(performance.eventLoopUtilization(before).utilization).toBeGreaterThan(0.6);
      // ...and sleeps again once it is answered.
      await sleep(5);
      expect(busyPolling()).toBe(false);
    } finally {
      await client.close();
    }
  }, 30_000);
});

/** An SDK client of a warden (echo fixture `a`) whose http section is `http`, closed after `use`. */
async function withClient(
  http: Record<string, unknown>,
  use: (client: Awaited<ReturnType<typeof httpClient>>) => Promise<void>,
): Promise<void> {
  const warden = await makeWarden({
    servers: { a: fixture("a") },
    registry: { servers: { a: { tools: ["echo"] } } },
    http,
  });
  try {
    const client = await httpClient((await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url, "c");
    try {
      await use(client);
    } finally {
      await client.close();
    }
  } finally {
    await warden.close();
  }
}

describe("warden with http.busyPollMicros", () => {
  it("keeps the loop turning after answering a POST, for the client's next request, then sleeps", async () => {
    // 100 ms after each answer
    await withClient({ busyPollMicros: 100_000 }, async (client) => {
      expect(textOf(await client.callTool({ name: "a__echo", arguments: { text: "x" } }))).toBe("a: x");
      expect(await utilisation(30)).toBeGreaterThan(0.6);
      await sleep(120);
      expect(busyPolling()).toBe(false);
    });
  }, 30_000);

  it("is auto by default: a client calling now and then leaves the loop asleep", async () => {
    await withClient({}, async (client) => {
      callerUnknown(); // forget the clients of earlier tests: only this client's pace may count
      const before = busyPollSeconds();
      for (let i = 0; i < 15; i++) {
        await client.callTool({ name: "a__echo", arguments: { text: "x" } });
        await sleep(15); // above the 10 ms that marks a client calling in a loop
      }
      expect(busyPolling()).toBe(false);
      expect(busyPollSeconds()).toBe(before);
    });
  }, 30_000);

  it("is auto by default: times each request and answer for the client's pace, and asks auto HTTP servers' polls", async () => {
    const remote = await startFixtureHttp();
    const warden = await makeWarden({
      servers: { a: fixture("a"), r: { url: remote.url } },
      registry: { servers: { a: { tools: ["echo"] }, r: { tools: ["echo"] } } },
    });
    const asked = vi.spyOn(ClientPace.prototype, "asked");
    const answered = vi.spyOn(ClientPace.prototype, "answered");
    const sent = vi.spyOn(BusyPoll.prototype, "sent");
    try {
      const client = await httpClient((await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url, "c");
      try {
        for (const spy of [asked, answered, sent]) spy.mockClear(); // the handshake is not counted
        for (let i = 0; i < 5; i++) await client.callTool({ name: "r__echo", arguments: { text: "x" } });
        expect(asked).toHaveBeenCalledTimes(5);
        expect(answered).toHaveBeenCalledTimes(5);
        // Whether a call is polled for is the gates' business (tested above, on the clock); that
        // each call to an HTTP server asks, and asks as `auto` (adaptive), is the wiring's.
        if (usableCpus() >= 2) {
          expect(sent).toHaveBeenCalledTimes(5);
          expect(sent.mock.contexts.every((poll) => (poll as BusyPoll).adaptive)).toBe(true);
        } else expect(sent).not.toHaveBeenCalled();
        // A stdio server is not polled for on auto (it bought nothing there).
        sent.mockClear();
        await client.callTool({ name: "a__echo", arguments: { text: "x" } });
        expect(sent).not.toHaveBeenCalled();
      } finally {
        await client.close();
      }
    } finally {
      for (const spy of [asked, answered, sent]) spy.mockRestore();
      await warden.close();
      await remote.stop();
    }
  }, 60_000);
});

describe("warden's stdio front door with auto servers", () => {
  /** Calls the echo tool `n` times over an in-process stdio door, `gapMs` between answer and request. */
  async function callsOverStdio(n: number, gapMs: number, modern = false): Promise<number> {
    const warden = await makeWarden({
      servers: { a: fixture("a") },
      registry: { servers: { a: { tools: ["echo"] } } },
    });
    const input = new PassThrough();
    const output = new PassThrough();
    const door = warden.serveStdio({ input, output });
    const waiting = new Map<number, () => void>();
    const errors: unknown[] = [];
    let buffered = "";
    output.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const reply = JSON.parse(buffered.slice(0, nl)) as { id?: number; error?: unknown };
        buffered = buffered.slice(nl + 1);
        if (reply.error !== undefined) errors.push(reply.error);
        if (typeof reply.id === "number") waiting.get(reply.id)?.();
        nl = buffered.indexOf("\n");
      }
    });
    // A 2026-07-28 client sends no initialize: each request carries the revision's _meta envelope.
    const envelope = { [META_VERSION]: "2026-07-28", [META_CAPS]: {} };
    const request = (id: number, method: string, params: object) =>
      new Promise<void>((resolve) => {
        waiting.set(id, resolve);
        const sent = modern ? { ...params, _meta: envelope } : params;
        input.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params: sent })}\n`);
      });
    try {
      if (!modern) {
        await request(0, "initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        });
        input.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
      }
      callerUnknown(); // forget the clients of earlier tests: only this door's pace may count
      const before = busyPollSeconds();
      for (let id = 1; id <= n; id++) {
        await request(id, "tools/call", { name: "a__echo", arguments: { text: "x" } });
        if (gapMs > 0) await sleep(gapMs);
      }
      expect(errors).toEqual([]);
      return busyPollSeconds() - before;
    } finally {
      await door.close();
      await warden.close();
    }
  }

  it("times each request and answer for the client's pace", async () => {
    const asked = vi.spyOn(ClientPace.prototype, "asked");
    const answered = vi.spyOn(ClientPace.prototype, "answered");
    try {
      await callsOverStdio(5, 0);
      // initialize and its answer, then the five calls (notifications/initialized is no request)
      expect(asked).toHaveBeenCalledTimes(6);
      expect(answered).toHaveBeenCalledTimes(6);
      // A 2026-07-28 client: no handshake, just the five calls.
      asked.mockClear();
      answered.mockClear();
      await callsOverStdio(5, 0, true);
      expect(asked).toHaveBeenCalledTimes(5);
      expect(answered).toHaveBeenCalledTimes(5);
    } finally {
      asked.mockRestore();
      answered.mockRestore();
    }
  }, 30_000);

  it("does not keep the loop turning while its client pauses between calls", async () => {
    expect(await callsOverStdio(15, 15)).toBe(0);
  }, 30_000);
});
