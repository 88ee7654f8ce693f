// Warden's own Streamable HTTP session (MCP 2025-03-26+ transport), written for the hot path:
// a POST whose request is answered with nothing in between gets a plain application/json reply;
// as soon as a related notification or server→client request needs to go out first, the reply
// switches to an SSE stream (the spec lets the server choose per response). SSE events carry ids
// from a bounded event store so a client can resume a stream with GET + Last-Event-ID.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ClientPace } from "../upstream/busy-poll.js";
import { ErrorCodes, type Id, type JsonRpcMessage } from "../upstream/jsonrpc.js";
import type { RawResult } from "../upstream/ndjson.js";
import { SlotMap } from "../upstream/slot-map.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "./router.js";
import type { ClientSession } from "./session.js";

interface ReplyStream {
  /** Numbers the POST's stream; its event ids are `p<seq>.<n>` (see keyOf). */
  readonly seq: number;
  res?: ServerResponse;
  /** json: nothing sent yet, a lone response may still go out as JSON; sse: headers sent as SSE. */
  mode: "pending" | "sse" | "closed";
  /**
   * How many of this POST's request ids still wait for their response (each id leaves
   * `byRequest` when answered, so a count is enough; a batch counts repeated ids once).
   */
  open: number;
  batch: boolean;
  /** JSON-response mode: responses collected for a batch reply. */
  collected?: JsonRpcMessage[];
}

interface StoredEvent {
  id: string;
  stream: string;
  data: string;
}

/** A POST stream's key in event ids (made only when an event is stored or resumed). */
function keyOf(stream: ReplyStream): string {
  return `p${stream.seq}`;
}

const REPLY_STREAM = Symbol("warden.replyStream");
type ReplyResponse = ServerResponse & { [REPLY_STREAM]?: ReplyStream };

/** 'close' listener of a POST's response: its stream stops writing to it. */
function forgetResponse(this: ReplyResponse): void {
  const stream = this[REPLY_STREAM];
  if (stream && stream.res === this) stream.res = undefined;
}

function writeSseHead(res: ServerResponse, sessionId: string): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "mcp-session-id": sessionId,
  });
  res.flushHeaders();
}

export class StreamableSession {
  session!: ClientSession;
  lastSeen = Date.now();
  onclose?: () => void;
  private closed = false;
  private seq = 0;
  private streamSeq = 0;
  /** Open POST streams by request id (a SlotMap: at c=1 an entry is added and removed per call). */
  private readonly byRequest = new SlotMap<Id, ReplyStream>();
  private standalone?: ServerResponse;
  private readonly events: StoredEvent[] = [];

  constructor(
    readonly id: string,
    private readonly maxEvents: number,
    /** JSON-response mode: never answer a POST with SSE; related messages use the GET stream. */
    private readonly jsonOnly = false,
    /** Times the client's pace and lingers after answers (src/upstream/busy-poll.ts). */
    private readonly pace: ClientPace = new ClientPace(),
  ) {}

  /** The ClientSession's send function: routes each message to the right HTTP response. */
  send = (msg: JsonRpcMessage, related?: Id): void => {
    if (this.closed) return;
    const isResponse = "result" in msg || "error" in msg;
    const id = isResponse ? (msg as { id: Id }).id : related;
    const stream = id !== undefined && id !== null ? this.byRequest.get(id) : undefined;
    if (stream && stream.mode !== "closed" && !(this.jsonOnly && !isResponse)) {
      if (this.jsonOnly) {
        stream.open--;
        this.byRequest.delete(id as Id);
        stream.collected?.push(msg);
        if (stream.open === 0) this.replyJson(stream, stream.batch ? (stream.collected ?? []) : msg);
        return;
      }
      if (isResponse) {
        stream.open--;
        this.byRequest.delete(id as Id);
        if (stream.mode === "pending" && !stream.batch && stream.res) {
          // Answered with nothing in between: a plain JSON reply (the fast path).
          const body = JSON.stringify(msg);
          stream.res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "mcp-session-id": this.id,
          });
          stream.res.end(body);
          stream.mode = "closed";
          this.pace.answered();
          return;
        }
      }
      this.writeEvent(stream, msg);
      if (stream.open === 0) this.endStream(stream);
      return;
    }
    // Unrelated (or its request's stream is gone): the standalone GET stream, else kept for replay.
    this.writeStandalone(msg);
  };

  /** A downstream result as bytes: written as the JSON reply when possible, else decoded and sent. */
  sendRaw = (raw: RawResult, id: Id): void => {
    const stream = this.closed ? undefined : this.byRequest.get(id);
    if (stream && stream.mode === "pending" && !stream.batch && !this.jsonOnly && stream.res) {
      stream.open--;
      this.byRequest.delete(id);
      // A small ASCII answer goes out as one string: Node then writes head and body as one
      // chunk, without Buffer.concat and the corked writev of a Buffer body.
      const text = raw.asciiWithId(id);
      if (text !== undefined) {
        stream.res.writeHead(200, {
          "content-type": "application/json",
          "content-length": text.length,
          "mcp-session-id": this.id,
        });
        stream.res.end(text, "latin1");
        stream.mode = "closed";
        this.pace.answered();
        return;
      }
      const [head, tail] = raw.withIdParts(id);
      stream.res.writeHead(200, {
        "content-type": "application/json",
        "content-length": head.length + tail.length,
        "mcp-session-id": this.id,
      });
      if (head.length > 16 * 1024) {
        stream.res.write(head);
        stream.res.end(tail);
      } else stream.res.end(Buffer.concat([head, tail]));
      stream.mode = "closed";
      this.pace.answered();
      return;
    }
    this.send({ jsonrpc: "2.0", id, result: raw.parse() });
  };

  private replyJson(stream: ReplyStream, payload: unknown) {
    stream.mode = "closed";
    if (!stream.res || stream.res.writableEnded) return;
    const body = JSON.stringify(payload);
    stream.res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "mcp-session-id": this.id,
    });
    stream.res.end(body);
    this.pace.answered();
  }

  private keepAlive?: NodeJS.Timeout;

  /** SSE comment lines every 25 s so proxies with idle timeouts keep long streams open. */
  private ensureKeepAlive() {
    if (this.keepAlive || this.closed) return;
    this.keepAlive = setInterval(() => {
      const open = new Set<ServerResponse>();
      for (const st of this.byRequest.values())
        if (st.mode === "sse" && st.res && !st.res.writableEnded) open.add(st.res);
      if (this.standalone && !this.standalone.writableEnded) open.add(this.standalone);
      for (const res of open) res.write(": keepalive\n\n");
    }, 25_000);
    this.keepAlive.unref();
  }

  private writeEvent(stream: ReplyStream, msg: JsonRpcMessage) {
    const data = JSON.stringify(msg);
    const eventId = this.store(keyOf(stream), data);
    if (!stream.res || stream.res.writableEnded) return;
    if (stream.mode === "pending") {
      writeSseHead(stream.res, this.id);
      stream.mode = "sse";
      this.ensureKeepAlive();
    }
    stream.res.write(eventId ? `id: ${eventId}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
  }

  private writeStandalone(msg: JsonRpcMessage) {
    const data = JSON.stringify(msg);
    const eventId = this.store("_standalone", data);
    const res = this.standalone;
    if (res && !res.writableEnded)
      res.write(eventId ? `id: ${eventId}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
  }

  private store(stream: string, data: string): string | undefined {
    if (this.maxEvents === 0) return undefined;
    const id = `${stream}.${++this.seq}`;
    this.events.push({ id, stream, data });
    if (this.events.length > this.maxEvents * 1.25)
      this.events.splice(0, this.events.length - this.maxEvents);
    return id;
  }

  private endStream(stream: ReplyStream) {
    stream.mode = "closed";
    if (stream.res && !stream.res.writableEnded) {
      stream.res.end();
      this.pace.answered();
    }
  }

  /** A POST carrying messages; `requests` are the ids that need answers on this response. */
  accept(res: ServerResponse, requestIds: Id[], batch: boolean): void {
    this.lastSeen = Date.now();
    if (requestIds.length === 0) {
      res.writeHead(202, { "mcp-session-id": this.id }).end();
      return;
    }
    this.pace.asked();
    const stream = this.openStream(res, requestIds.length === 1 ? 1 : new Set(requestIds).size, batch);
    for (const id of requestIds) this.byRequest.set(id, stream);
  }

  /** accept() for a POST carrying one request (the per-call path: no list of ids). */
  acceptOne(res: ServerResponse, requestId: Id): void {
    this.lastSeen = Date.now();
    this.pace.asked();
    this.byRequest.set(requestId, this.openStream(res, 1, false));
  }

  private openStream(res: ServerResponse, open: number, batch: boolean): ReplyStream {
    const stream: ReplyStream = { seq: ++this.streamSeq, res, mode: "pending", open, batch };
    // Client went away: later messages are still stored for a resume, never written here.
    // (One shared listener: a closure and a once() wrapper per POST are measurable garbage.)
    (res as ReplyResponse)[REPLY_STREAM] = stream;
    res.on("close", forgetResponse);
    if (this.jsonOnly) stream.collected = [];
    else if (batch) {
      writeSseHead(res, this.id);
      stream.mode = "sse";
      this.ensureKeepAlive();
    }
    return stream;
  }

  /** GET: the standalone stream, or a resume of an earlier stream after Last-Event-ID. */
  openGet(req: IncomingMessage, res: ServerResponse): void {
    this.lastSeen = Date.now();
    const last = req.headers["last-event-id"];
    if (typeof last === "string" && last) {
      const dot = last.lastIndexOf(".");
      const streamKey = dot > 0 ? last.slice(0, dot) : "";
      writeSseHead(res, this.id);
      const start = this.events.findIndex((e) => e.id === last);
      for (const e of this.events.slice(start + 1))
        if (e.stream === streamKey) res.write(`id: ${e.id}\ndata: ${e.data}\n\n`);
      const live = [...this.byRequest.values()].find((s) => keyOf(s) === streamKey && s.mode !== "closed");
      if (live) {
        live.res = res;
        live.mode = "sse";
        this.ensureKeepAlive();
        res.once("close", () => {
          if (live.res === res) live.res = undefined;
        });
      } else if (streamKey === "_standalone") {
        this.attachStandalone(res);
      } else res.end();
      return;
    }
    if (this.standalone && !this.standalone.writableEnded) {
      res.writeHead(409, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          error: {
            code: ErrorCodes.InvalidRequest,
            message: "Conflict: only one SSE stream is allowed per session",
          },
          id: null,
        }),
      );
      return;
    }
    writeSseHead(res, this.id);
    this.attachStandalone(res);
  }

  private attachStandalone(res: ServerResponse) {
    this.standalone = res;
    this.ensureKeepAlive();
    res.once("close", () => {
      if (this.standalone === res) this.standalone = undefined;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const s of new Set(this.byRequest.values())) this.endStream(s);
    this.byRequest.clear();
    if (this.standalone && !this.standalone.writableEnded) this.standalone.end();
    this.onclose?.();
  }
}

/** Checks the MCP-Protocol-Version header (2025-06-18+): absent is fine, unknown is a 400. */
export function badProtocolHeader(req: IncomingMessage): string | undefined {
  const v = req.headers["mcp-protocol-version"];
  if (typeof v === "string" && !SUPPORTED_PROTOCOL_VERSIONS.includes(v)) {
    return `Bad Request: Unsupported protocol version: ${v} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`;
  }
  return undefined;
}
