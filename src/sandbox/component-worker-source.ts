// Source of the worker thread that runs user-supplied WASI 0.2 command components
// (transpiled by jco) on a fresh instance per call. The WASI host is warden's own minimal
// one: configured env/argv only, captured stdout/stderr with a byte cap, stdin from memory,
// exit as a return code, no preopened directories, and no socket or http interfaces.

import { JSPI_STUB_SOURCE } from "./jspi-stub-source.js";

export const COMPONENT_WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { randomFillSync } = require("node:crypto");
${JSPI_STUB_SOURCE}

const glue = new Map();
class OutputLimit extends Error {}
class ExitCalled extends Error {
  constructor(code) { super("exit " + code); this.code = code; }
}

function makeHost(job, sink) {
  const stdin = job.stdin ? Buffer.from(job.stdin) : Buffer.alloc(0);
  let stdinPos = 0;
  class IoError { toDebugString() { return "error"; } }
  class Pollable { block() {} ready() { return true; } }
  class InputStream {
    read(len) {
      if (stdinPos >= stdin.length) throw { payload: { tag: "closed" } };
      const n = Math.min(Number(len), stdin.length - stdinPos);
      const chunk = new Uint8Array(stdin.subarray(stdinPos, stdinPos + n));
      stdinPos += n;
      return chunk;
    }
    blockingRead(len) { return this.read(len); }
    skip(len) { const n = Math.min(Number(len), stdin.length - stdinPos); stdinPos += n; return BigInt(n); }
    blockingSkip(len) { return this.skip(len); }
    subscribe() { return new Pollable(); }
  }
  class OutputStream {
    constructor(fd) { this.fd = fd; }
    checkWrite() { return 65536n; }
    write(buf) { sink(this.fd, buf); }
    blockingWriteAndFlush(buf) { sink(this.fd, buf); }
    flush() {}
    blockingFlush() {}
    writeZeroes(n) { sink(this.fd, new Uint8Array(Number(n))); }
    blockingWriteZeroesAndFlush(n) { sink(this.fd, new Uint8Array(Number(n))); }
    splice() { throw { payload: { tag: "closed" } }; }
    blockingSplice() { throw { payload: { tag: "closed" } }; }
    subscribe() { return new Pollable(); }
  }
  class TerminalInput {}
  class TerminalOutput {}
  // No preopens are handed out, so no Descriptor ever exists; refuse in case one is reached.
  class Descriptor {}
  class DirectoryEntryStream {}
  const refuse = () => { throw { payload: "access" }; };
  for (const m of ["readViaStream", "writeViaStream", "appendViaStream", "getFlags", "getType", "stat", "statAt",
    "openAt", "readDirectory", "metadataHash", "metadataHashAt", "read", "write", "sync", "setSize"]) {
    Descriptor.prototype[m] = refuse;
  }
  const stdout = new OutputStream(1);
  const stderr = new OutputStream(2);
  const input = new InputStream();
  const t0 = process.hrtime.bigint();
  const random = (n) => { const b = new Uint8Array(Number(n)); randomFillSync(b); return b; };
  return {
    "wasi:cli/environment": {
      getEnvironment: () => Object.entries(job.env),
      getArguments: () => job.args,
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": {
      exit: (status) => { throw new ExitCalled(status && status.tag === "err" ? 1 : 0); },
      exitWithCode: (code) => { throw new ExitCalled(code); },
    },
    "wasi:cli/stdin": { getStdin: () => input },
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
    "wasi:filesystem/types": { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll: (list) => list.map((_, i) => i) },
    "wasi:io/streams": { InputStream, OutputStream },
    "wasi:random/random": { getRandomBytes: random, getRandomU64: () => random(8).reduce((a, b) => (a << 8n) | BigInt(b), 0n) },
    "wasi:random/insecure": { getInsecureRandomBytes: random, getInsecureRandomU64: () => random(8).reduce((a, b) => (a << 8n) | BigInt(b), 0n) },
    "wasi:random/insecure-seed": { insecureSeed: () => [1n, 2n] },
  };
}

async function runJob(job) {
  const started = performance.now();
  let instantiate = glue.get(job.dir);
  if (!instantiate) {
    instantiate = (await import(pathToFileURL(join(job.dir, "component.js")).href)).instantiate;
    glue.set(job.dir, instantiate);
  }
  const out = { 1: [], 2: [] };
  let outBytes = 0;
  let outputLimitHit = false;
  const sink = (fd, buf) => {
    if (outBytes + buf.length > job.maxOutputBytes) {
      const room = job.maxOutputBytes - outBytes;
      if (room > 0) out[fd].push(Buffer.from(buf.subarray(0, room)));
      outBytes = job.maxOutputBytes;
      outputLimitHit = true;
      throw new OutputLimit("output limit");
    }
    outBytes += buf.length;
    out[fd].push(Buffer.from(buf));
  };
  let exitCode = null;
  let trap = null;
  try {
    const root = instantiate((name) => job.modules[name], makeHost(job, sink));
    root.run.run();
    exitCode = 0;
  } catch (err) {
    if (err instanceof ExitCalled) exitCode = err.code;
    else if (!(err instanceof OutputLimit) && !(err && err.cause instanceof OutputLimit)) {
      // A run that returns result::err surfaces as a ComponentError: that is exit code 1.
      if (err && err.name === "ComponentError") exitCode = 1;
      else trap = String((err && err.message) || err);
    } else outputLimitHit = true;
  }
  return {
    exitCode,
    trap,
    outputLimitHit,
    stdout: Buffer.concat(out[1]).toString("utf8"),
    stderr: Buffer.concat(out[2]).toString("utf8"),
    wallMs: performance.now() - started,
  };
}

parentPort.on("message", async (msg) => {
  if (msg.type !== "job") return;
  let result;
  try {
    result = await runJob(msg.job);
  } catch (err) {
    result = { setupError: String((err && err.message) || err) };
  }
  // Component glue keeps per-module state: a trap or early exit may leave it in doubt.
  result.recycle = !!(result.trap || result.setupError || result.outputLimitHit || result.exitCode !== 0);
  parentPort.postMessage(result);
});
parentPort.postMessage({ type: "ready" });
`;
