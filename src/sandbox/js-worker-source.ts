// Source of the worker thread that runs JavaScript in the QuickJS WASI component.
// The component's WASI 0.2 imports are served by the minimal host below, not by
// preview2-shim: no preopened directories (so no file access at all), an empty
// environment, exit as an error, stdout/stderr captured under a byte cap. There are no
// wasi:sockets or wasi:http keys: a component importing them would fail to instantiate.

import { JSPI_STUB_SOURCE } from "./jspi-stub-source.js";

export const JS_WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
// Node 20 ships extended-const behind a flag; QuickJS's core module uses it.
if (Number(process.versions.node.split(".")[0]) < 22) require("node:v8").setFlagsFromString("--experimental-wasm-extended-const");
${JSPI_STUB_SOURCE}

let instantiate;
const modules = new Map();

async function init(cfg) {
  instantiate = (await import(pathToFileURL(join(cfg.dir, "evaluator.js")).href)).instantiate;
  for (const [file, bytes] of Object.entries(cfg.coreModules)) modules.set(file, new WebAssembly.Module(bytes));
}

class OutputLimit extends Error {}
class ExitCalled extends Error {}

// Each instance serves exactly one call; the call plugs its output sink in here.
function makeHost(ctx) {
  const sink = (fd, buf) => ctx.sink(fd, buf);
  class IoError { toDebugString() { return "error"; } }
  class Pollable { block() {} ready() { return true; } }
  class InputStream {
    read() { throw { payload: { tag: "closed" } }; }
    blockingRead() { throw { payload: { tag: "closed" } }; }
    subscribe() { return new Pollable(); }
  }
  class OutputStream {
    constructor(fd) { this.fd = fd; }
    checkWrite() { return 65536n; }
    write(buf) { sink(this.fd, buf); }
    blockingWriteAndFlush(buf) { sink(this.fd, buf); }
    flush() {}
    blockingFlush() {}
    subscribe() { return new Pollable(); }
  }
  class TerminalInput {}
  class TerminalOutput {}
  // Never handed out (no preopens); every method refuses in case one is ever reached.
  class Descriptor {}
  for (const m of ["readViaStream", "writeViaStream", "appendViaStream", "getFlags", "stat", "metadataHash"]) {
    Descriptor.prototype[m] = () => { throw { payload: "access" }; };
  }
  const stdout = new OutputStream(1);
  const stderr = new OutputStream(2);
  const stdin = new InputStream();
  const t0 = process.hrtime.bigint();
  return {
    "wasi:cli/environment": { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    "wasi:cli/exit": { exit: (status) => { throw new ExitCalled(status && status.tag === "err" ? "1" : "0"); } },
    "wasi:cli/stdin": { getStdin: () => stdin },
    "wasi:cli/stdout": { getStdout: () => stdout },
    "wasi:cli/stderr": { getStderr: () => stderr },
    "wasi:cli/terminal-input": { TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
    "wasi:clocks/monotonic-clock": {
      now: () => process.hrtime.bigint() - t0,
      resolution: () => 1n,
      subscribeDuration: () => new Pollable(),
      subscribeInstant: () => new Pollable(),
    },
    "wasi:clocks/wall-clock": {
      now: () => { const ms = Date.now(); return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 }; },
      resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
    },
    "wasi:filesystem/preopens": { getDirectories: () => [] },
    "wasi:filesystem/types": { Descriptor, filesystemErrorCode: () => undefined },
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll: (list) => list.map((_, i) => i) },
    "wasi:io/streams": { InputStream, OutputStream },
    "wasi:random/insecure-seed": { insecureSeed: () => [BigInt(Math.floor(Math.random() * 2 ** 53)), BigInt(Math.floor(Math.random() * 2 ** 53))] },
  };
}

// Fresh instances are prepared ahead of calls in idle time (instantiation costs ~7 ms,
// a call ~1 ms); each is used for exactly one call and then dropped. Several are kept so
// a burst of calls does not wait for instantiation. One is prepared per event-loop turn,
// so a job that arrives meanwhile waits for at most one instantiation.
const spares = [];
let spareTarget = 1;
let filling = false;

function prepare() {
  const ctx = { sink: () => {} };
  try {
    return { ctx, root: instantiate((name) => modules.get(name), makeHost(ctx)) };
  } catch (err) {
    return { ctx, error: String((err && err.message) || err) };
  }
}

// Tells the pool how many calls this worker can serve without instantiating first, and
// whether it is busy instantiating (a job sent now would wait for that).
function reportSpares(preparing) {
  parentPort.postMessage({ type: "spares", count: spares.length, preparing });
}

function fillSpares() {
  if (filling || !instantiate) return;
  filling = true;
  setImmediate(function step() {
    if (spares.length >= spareTarget) {
      filling = false;
      return;
    }
    reportSpares(true);
    const fresh = prepare();
    if (!fresh.error) spares.push(fresh);
    reportSpares(false);
    if (fresh.error) filling = false;
    else setImmediate(step);
  });
}

function runJob(job) {
  const started = performance.now();
  const out = { 1: [], 2: [] };
  let outBytes = 0;
  let outputLimitHit = false;
  const fresh = spares.shift() || prepare();
  if (fresh.error) return { setupError: fresh.error };
  fresh.ctx.sink = (fd, buf) => {
    if (outBytes + buf.length > job.maxOutputBytes) {
      outputLimitHit = true;
      throw new OutputLimit("output limit");
    }
    outBytes += buf.length;
    out[fd].push(Buffer.from(buf));
  };
  let reply = null;
  let trap = null;
  let exited = null;
  try {
    reply = fresh.root.evaluate(job.code, job.inputJson, job.maxOutputBytes);
  } catch (err) {
    if (err instanceof ExitCalled) exited = Number(err.message);
    else if (!(err instanceof OutputLimit)) trap = String((err && err.message) || err);
  }
  return {
    reply,
    trap,
    exited,
    outputLimitHit,
    hostStdout: Buffer.concat(out[1]).toString("utf8"),
    hostStderr: Buffer.concat(out[2]).toString("utf8"),
    wallMs: performance.now() - started,
  };
}

let ready;
parentPort.on("message", async (msg) => {
  if (msg.type === "init") {
    spareTarget = Math.max(1, Number(msg.init.spares) || 1);
    ready = init(msg.init).then(() => {
      const fresh = prepare();
      if (!fresh.error) spares.push(fresh);
    });
    // Tell the pool we are booted (or failed to: the next job reports why).
    ready.then(
      () => {
        parentPort.postMessage({ type: "ready", spares: spares.length });
        fillSpares();
      },
      () => parentPort.postMessage({ type: "ready" }),
    );
    return;
  }
  let result;
  try {
    await ready;
    result = runJob(msg.job);
  } catch (err) {
    result = { setupError: String((err && err.message) || err) };
  }
  // A trap can leave the component glue's shared state unusable: ask for a fresh worker.
  result.recycle = !!(result.trap || result.setupError || result.outputLimitHit || result.exited !== null);
  result.spares = spares.length;
  parentPort.postMessage(result);
  if (!result.recycle) fillSpares();
});
`;
