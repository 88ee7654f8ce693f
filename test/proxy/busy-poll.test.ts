// Busy-polling for fast downstream answers (servers.<name>.busyPollMicros): while a request is in
// flight the event loop keeps turning instead of sleeping, for at most the budget, and not at all
// for a server whose answers take longer than the budget. "Turning" is measured with Node's event
// loop utilisation: a loop that sleeps in epoll is idle, one that spins is busy. That it stops is
// read from the spin's own state: idle-time figures are not reliable on a loaded machine.

import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { WardenMetrics } from "../../src/metrics/registry.js";
import type { Warden } from "../../src/server/warden.js";
import { BusyPoll, busyPolling, requestSettled, requestStarted } from "../../src/upstream/busy-poll.js";
import { type Running, startFixtureHttp } from "../fixtures/servers/child-process.js";
import { fixture, httpClient, makeWarden, textOf } from "./helpers.js";

/** The share of `ms` the event loop spent busy (1 = never slept). */
async function utilisation(ms: number): Promise<number> {
  const before = performance.eventLoopUtilization();
  await sleep(ms);
  return performance.eventLoopUtilization(before).utilization;
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
  it("defaults to 0 (off) and refuses negative, fractional and huge values with the path", () => {
    const ok = parseConfig({ servers: { s: { command: "x" }, r: { url: "http://127.0.0.1:1/mcp" } } });
    expect(ok.config.servers.s).toMatchObject({ busyPollMicros: 0 });
    expect(ok.config.servers.r).toMatchObject({ busyPollMicros: 0 });
    for (const bad of [-1, 1.5, 100_001]) {
      expect(() => parseConfig({ servers: { s: { command: "x", busyPollMicros: bad } } })).toThrow(
        /servers\.s\.busyPollMicros/,
      );
    }
    // Builtin (in-process) servers have no wire to wait on.
    expect(() => parseConfig({ servers: { b: { builtin: "sandbox", busyPollMicros: 10 } } })).toThrow(
      /busyPollMicros/,
    );
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

  it("is off by default: the loop sleeps between a client's requests", async () => {
    await withClient({}, async (client) => {
      await client.callTool({ name: "a__echo", arguments: { text: "x" } });
      await sleep(5);
      expect(busyPolling()).toBe(false);
    });
  }, 30_000);
});
