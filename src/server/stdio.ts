// The stdio front door: one client session over newline-delimited JSON-RPC on stdin/stdout.

import { type ByteSink, batchedWriter } from "../upstream/batch-writer.js";
import { ClientPace } from "../upstream/busy-poll.js";
import { scanEnvelope } from "../upstream/envelope.js";
import { isRequest, isResponse, type JsonRpcMessage, parseMessageLine } from "../upstream/jsonrpc.js";
import { lineBufferSplitter, RawRequest, rawCallEnvelope, serialize } from "../upstream/ndjson.js";
import type { LogFn } from "./logger.js";
import { createModernStdio, type ModernStdio, opensModernEra } from "./stateless-stdio.js";
import type { Warden } from "./warden.js";

export interface StdioFrontDoor {
  /** Resolves when the client closes stdin (or close() is called). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

export function serveStdio(
  warden: Warden,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  log: LogFn = () => {},
): StdioFrontDoor {
  // Answers produced while handling one batch of I/O (concurrent calls finishing together) go
  // out in one write.
  const write = batchedWriter(output as NodeJS.WritableStream & ByteSink);
  // Times the client's pace for `auto` busy-polling servers (src/upstream/busy-poll.ts).
  const pace = new ClientPace();
  const send = (msg: JsonRpcMessage) => {
    if (isResponse(msg)) pace.answered();
    write(serialize(msg));
  };
  const session = warden.openSession("stdio", warden.stdioSubject(), send);
  session.sendRaw = (raw, id) => {
    pace.answered();
    // A small ASCII answer as one string (nothing to join when the batch is written).
    const text = raw.asciiWithId(id, "\n");
    if (text !== undefined) write(text);
    else for (const piece of raw.pieces(id, "\n")) write(piece);
  };
  let finished = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const finish = async () => {
    if (finished) return;
    finished = true;
    input.removeListener("data", onData);
    await modern?.close();
    await warden.closeSession(session);
    resolveDone();
  };
  // When no stage reads a tools/call's params, such calls travel as bytes: the envelope scan
  // finds id, tool name and progress token, and the arguments are never decoded or parsed.
  const rawCalls = warden.router.forwardsRawCalls;
  // The opening message decides the connection's era (2026-07-28 clients send no initialize).
  let eraDecided = false;
  let modern: ModernStdio | undefined;
  const onLine = lineBufferSplitter((bytes) => {
    if (modern) {
      modern.handleLine(bytes);
      return;
    }
    if (rawCalls && eraDecided) {
      const envelope = rawCallEnvelope(scanEnvelope(bytes, "tools/call"));
      if (envelope) {
        pace.asked();
        warden.router.handleRawCall(session, new RawRequest(bytes, envelope));
        return;
      }
    }
    const { msg, reply } = parseMessageLine(bytes);
    if (reply) {
      session.send(reply);
      return;
    }
    if (!eraDecided) {
      eraDecided = true;
      if (opensModernEra(msg)) {
        void warden.closeSession(session); // nothing un-requested may reach a 2026-07-28 client
        modern = createModernStdio(warden, session.subject, send, log, () => pace.asked());
        modern.handle(msg);
        return;
      }
    }
    if (isRequest(msg)) pace.asked();
    warden.handle(session, msg);
  });
  const onData = (chunk: Buffer | string) => onLine(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  input.on("data", onData);
  // The client went away mid-write (EPIPE): end the session instead of crashing on an unhandled error.
  output.on("error", () => void finish());
  input.once("end", () => void finish());
  input.once("close", () => void finish());
  return { done, close: finish };
}
