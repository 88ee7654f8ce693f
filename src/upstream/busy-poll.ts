// Busy-polling for fast downstream answers.
//
// When warden has written a request downstream and has nothing else to do, Node's event loop
// blocks in epoll and the CPU goes idle; on a virtual machine an idle vCPU halts, and waking it
// when the answer arrives costs 0.1–0.2 ms (docs/benchmarks.md, "busy-polling"): more than all
// of warden's own work on a call. While a request to a server with `busyPollMicros` set is in
// flight, this keeps the loop turning with setImmediate, so libuv polls without blocking and
// reads the answer as soon as it lands. It is the process-level form of the kernel's haltpoll.
//
// The HTTP front door can do the same after answering a client (http.busyPollMicros), for the
// client's next request: an agent calling tools in sequence sends it within a fraction of a
// millisecond.
//
// The cost is CPU: the loop spins for as long as the answer takes, at most the budget per
// request. Three bounds keep it from spinning for nothing: a request holds the loop for at most
// the server's budget; a server whose recent answers (a moving average) take longer than its
// budget holds it not at all, until its answers come back under the budget; and the loop turns
// only while at most one request is in flight in the process (LoopSpin). I/O keeps being served
// while it spins: each turn of the loop polls every socket.
//
// `auto` (the default) adds two more, so that the CPU goes only where a wake-up is a real share of
// each call: it is on only when the process may use two CPUs or more (usableCpus: on one, the spin
// would take the CPU from the server that is to answer; under a container quota it would be
// throttled), and it polls only for a client calling in a loop (ClientPace): for the downstream's
// answer when the client's next request usually comes within 10 ms of an answer, and after an
// answer when it usually comes within the budget. An agent that waits for a model between calls,
// or a client that calls now and then, never has the loop kept turning.
import { usableCpus } from "./usable-cpus.js";

/** Weight of the newest answer time in a server's moving average (1/8, as TCP's SRTT). */
const EWMA_WEIGHT = 0.125;

/**
 * The budget `auto` stands for, µs: above the answer time of a fast local server measured on a
 * VM (0.2–0.6 ms), and what a client calling in a loop takes to send its next request.
 */
export const AUTO_BUDGET_MICROS = 1000;

/** A `busyPollMicros` setting: microseconds (0 = off), or `auto`. */
export type BusyPollSetting = number | "auto";

/** What a setting comes to on this machine. */
export interface BusyPollBudget {
  micros: number;
  /** Poll only for a client calling in a loop (ClientPace): what `auto` means. */
  adaptive: boolean;
}

/** The budget a setting gives on a machine with `cpus` usable CPUs; undefined when off. */
export function busyPollBudget(setting: BusyPollSetting, cpus = usableCpus()): BusyPollBudget | undefined {
  if (setting === "auto") return cpus >= 2 ? { micros: AUTO_BUDGET_MICROS, adaptive: true } : undefined;
  return setting > 0 ? { micros: setting, adaptive: false } : undefined;
}

/**
 * A server's budget. `auto` leaves stdio servers alone: measured, polling for a pipe's answer
 * (~60 µs from the fixture) bought no latency and doubled warden's CPU per call.
 */
export function serverBusyPollBudget(setting: BusyPollSetting, stdio: boolean): BusyPollBudget | undefined {
  return stdio && setting === "auto" ? undefined : busyPollBudget(setting);
}

/**
 * The process-wide spin: one loop however many connections hold it. It turns only while exactly
 * one downstream request is in flight in the whole process (a held one), or after a reply while
 * none is: with more, an answer is soon due anyway, and on a busy machine the spinning would take
 * CPU from the servers that are to answer (measured: at 16 calls in flight it cost a third of
 * the throughput).
 */
class LoopSpin {
  /** Downstream requests in flight in the process, on every connection. */
  private inflight = 0;
  /** Of those, the ones whose server polls (see BusyPoll.sent). */
  private holds = 0;
  /** performance.now() after which a held request no longer keeps the loop turning. */
  private until = 0;
  /** performance.now() until which the loop turns after a reply while nothing is in flight. */
  private lingerUntil = 0;
  private spinning = false;
  /** When the current spin began, and the time (ms) of the spins before it. */
  private spinStartedAt = 0;
  private spunMs = 0;
  /**
   * Whether the client of the latest request calls in a loop (ClientPace.asked). With one
   * request in flight, the only time the loop turns for a request, that request is the latest.
   */
  callerLooping = false;

  private readonly turn = (): void => {
    const now = performance.now();
    if (this.wanted(now)) setImmediate(this.turn);
    else {
      this.spinning = false;
      this.spunMs += now - this.spinStartedAt;
    }
  };

  private wanted(now: number): boolean {
    if (this.inflight === 0) return now < this.lingerUntil;
    return this.inflight === 1 && this.holds === 1 && now < this.until;
  }

  private start(): void {
    if (this.spinning) return;
    const now = performance.now();
    if (this.wanted(now)) {
      this.spinning = true;
      this.spinStartedAt = now;
      setImmediate(this.turn);
    }
  }

  started(): void {
    this.inflight++;
  }

  settled(): void {
    if (this.inflight > 0) this.inflight--;
    if (this.inflight === 1) this.start(); // down to one request in flight: it may turn again
  }

  /** Keeps the loop turning until `until` (ms, performance.now()) or until released. */
  hold(until: number): void {
    this.holds++;
    if (until > this.until) this.until = until;
    this.start();
  }

  release(): void {
    // With several requests held, the loop turns until the latest of their deadlines (a request
    // may spin past its own budget while a later one is in flight); with none, it forgets them.
    if (this.holds > 0) this.holds--;
    if (this.holds === 0) this.until = 0;
  }

  /** Keeps the loop turning until `until` while no request is in flight (after a reply, for the next one). */
  linger(until: number): void {
    if (until > this.lingerUntil) this.lingerUntil = until;
    this.start();
  }

  get active(): boolean {
    return this.spinning;
  }

  /** Wall time spent spinning so far, ms (the CPU it cost, less what the loop did meanwhile). */
  get spun(): number {
    return this.spunMs + (this.spinning ? performance.now() - this.spinStartedAt : 0);
  }
}

const loopSpin = new LoopSpin();

/**
 * Every connection reports each downstream request it sends and settles, polled for or not: the
 * spin turns only while at most one is in flight (two increments per call).
 */
export function requestStarted(): void {
  loopSpin.started();
}

export function requestSettled(): void {
  loopSpin.settled();
}

/** Whether the process's event loop is being kept turning now (for tests and diagnostics). */
export function busyPolling(): boolean {
  return loopSpin.active;
}

/** Seconds the process's event loop has been kept turning, all spins together (for metrics). */
export function busyPollSeconds(): number {
  return loopSpin.spun / 1000;
}

/**
 * For a front door: a function to call when a client's request has been answered. It keeps the
 * loop turning for `micros` more, so a client that sends its next request at once (an agent
 * calling tools in sequence) is read without a wake-up. Costs up to `micros` of CPU per reply.
 */
/**
 * A client is "calling in a loop" while the moving average of the gaps from an answer to its next
 * request is under this (ms): a script or an agent's batch of calls, not an agent that waits for a
 * model between calls (hundreds of ms and more). `auto` servers poll only for such a client.
 */
const LOOP_GAP_MS = 10;
/**
 * Each gap counts at most this (ms), so that one pause (a GC, a slow step) costs a looping client a
 * call or two of polling, not dozens. A new client starts here: it takes ten-odd quick calls in a
 * row to be taken for looping, and some thirty to be lingered for.
 */
const GAP_CAP_MS = 4 * LOOP_GAP_MS;

/**
 * A front-door session's part in busy-polling: it times its client's pace, for `auto` servers
 * (LoopSpin.callerLooping) and for its own linger after each answer (http.busyPollMicros).
 */
export class ClientPace {
  /** Moving average of the gaps from an answer to the next request, ms. */
  private averageMs = GAP_CAP_MS;
  /** performance.now() of the last answer not yet followed by a request, or -1. */
  private answeredAt = -1;
  private readonly lingerMs: number;
  private readonly adaptive: boolean;

  /** `linger`: the front door's budget for keeping the loop turning after an answer, if any. */
  constructor(linger?: BusyPollBudget) {
    this.lingerMs = linger ? linger.micros / 1000 : 0;
    this.adaptive = linger?.adaptive ?? true;
  }

  /** Whether the client calls in a loop now (its average gap is under LOOP_GAP_MS). */
  get looping(): boolean {
    return this.averageMs < LOOP_GAP_MS;
  }

  /** The client's average gap from an answer to its next request, ms. */
  get averageGap(): number {
    return this.averageMs;
  }

  /** A request came in: counts the gap since the last answer, and tells the spin who is calling. */
  asked(): void {
    if (this.answeredAt >= 0) {
      const gap = Math.min(performance.now() - this.answeredAt, GAP_CAP_MS);
      this.averageMs += (gap - this.averageMs) * EWMA_WEIGHT;
      this.answeredAt = -1;
    }
    loopSpin.callerLooping = this.looping;
  }

  /**
   * An answer was written: the loop keeps turning for the next request if this door lingers: on a
   * number, always; on `auto`, only for a client whose next request usually comes within the budget.
   */
  answered(): void {
    const now = performance.now();
    this.answeredAt = now;
    if (this.lingerMs > 0 && (!this.adaptive || this.averageMs < this.lingerMs))
      loopSpin.linger(now + this.lingerMs);
  }
}

/** A request came in through a door that does not time its clients: `auto` servers do not poll for it. */
export function callerUnknown(): void {
  loopSpin.callerLooping = false;
}

/** One server connection's busy-poll budget and the moving average of its answer times. */
export class BusyPoll {
  private readonly budgetMs: number;
  /** Moving average of answer times (ms); starts at 0, so the first requests poll. */
  private averageMs = 0;

  /** `adaptive`: poll only while the calling client calls in a loop (`auto`). */
  constructor(
    budgetMicros: number,
    readonly adaptive = false,
  ) {
    this.budgetMs = budgetMicros / 1000;
  }

  /** The averaged answer time, ms (for tests and diagnostics). */
  get average(): number {
    return this.averageMs;
  }

  /**
   * A request was just written at `sentAt` (performance.now()): holds the loop if this server's
   * answers come within the budget. Returns whether it holds; pass that to `answered`.
   */
  sent(sentAt: number): boolean {
    if (this.averageMs > this.budgetMs || (this.adaptive && !loopSpin.callerLooping)) return false;
    loopSpin.hold(sentAt + this.budgetMs);
    return true;
  }

  /** The request sent at `sentAt` settled: releases its hold and updates the average. */
  answered(sentAt: number, held: boolean): void {
    if (held) loopSpin.release();
    this.averageMs += (performance.now() - sentAt - this.averageMs) * EWMA_WEIGHT;
  }
}
