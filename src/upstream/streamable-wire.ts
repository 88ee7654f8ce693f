// A lean Streamable HTTP client for remote downstream servers, on the small HTTP/1.1 client in
// http1.ts (keep-alive sockets, one write per request). Speaks the protocol: Mcp-Session-Id from
// initialize, the negotiated MCP-Protocol-Version header, JSON or SSE answers to each POST, a GET
// SSE stream for server-initiated messages (resumed with Last-Event-ID), a POST's SSE stream that
// ends before its answer resumed with GET + Last-Event-ID (honouring `retry:`), DELETE on close,
// and a 404 on a live session (expired) answered by initializing again and resending the message.
import type { RemoteServerConfig } from "../config/schema.js";
import {
  type Body,
  type Exchange,
  type ExchangeHandlers,
  Http1Pool,
  type Http1Response,
  headerLines,
} from "./http1.js";
import { ErrorCodes, type Id, type JsonRpcMessage } from "./jsonrpc.js";
import { rawResultId } from "./ndjson.js";
import { oversizeAnswer, oversizeProblem } from "./oversize.js";
import { SlotMap } from "./slot-map.js";
import type { Wire } from "./wire.js";

const ACCEPT_BOTH = "application/json, text/event-stream";
const EMPTY = Buffer.alloc(0);

/** True when `buf[from..to)` holds exactly the ASCII bytes of `word`. */
function bytesAre(buf: Buffer, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[from + i] !== word.charCodeAt(i)) return false;
  return true;
}

function hasNulOrCr(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === 0 || buf[i] === 13) return true;
  return false;
}

/** The value of `buf[from..to)` when it is one or more ASCII digits, else undefined. */
function digitsAt(buf: Buffer, from: number, to: number): number | undefined {
  if (from === to) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Where an SseParser's events go. */
export interface SseSink {
  /** One event: its data lines' bytes joined with LF, the last id seen, its type ("message" unless named). */
  onevent(data: Buffer, id: string | undefined, event: string): void;
  /** A `retry:` field's value in ms. */
  onretry?(ms: number): void;
  /** An event's data grew past the parser's maxBytes (called once; the parser then ignores the rest). */
  onoversize?(): void;
}

/**
 * Splits an SSE byte stream into events; `data` keeps its bytes (one data line within one chunk:
 * no copy; a line spread over chunks is joined once). Events with an id but no data
 * (resumability priming) are reported too, with empty data; `retry:` values go to `onretry`.
 * An event whose data (with the line being read) grows past `maxBytes` is dropped:
 * `onoversize` is called once and the parser ignores the rest of the stream.
 * Lines are read by offset, and the parser is one object (made per SSE answer, so on the per-call
 * path): per event the only allocations are the data view (and the event name when it is not
 * "message"); arrays are made only for data or lines spread over several lines or chunks.
 */
export class SseParser {
  /** The start of a line whose newline has not arrived yet, as the chunks it came in. */
  private parts?: Buffer[];
  private partsLength = 0;
  private dead = false;
  /** Bytes of the current event's data lines so far. */
  private dataLength = 0;
  /** The current event's first data line, and the others when there are more. */
  private data?: Buffer;
  private moreData?: Buffer[];
  private id: string | undefined;
  private idSeen = false;
  private event = "";

  constructor(
    private readonly sink: SseSink,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  push(chunk: Buffer): void {
    if (this.dead) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.tooLong(this.partsLength + nl - start)) return;
      if (this.parts) {
        this.parts.push(chunk.subarray(start, nl));
        const joined = Buffer.concat(this.parts, this.partsLength + nl - start);
        this.parts = undefined;
        this.partsLength = 0;
        this.line(joined, 0, joined.length);
      } else this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.parts) this.parts.push(rest);
      else this.parts = [rest];
      this.partsLength += chunk.length - start;
      this.tooLong(this.partsLength);
    }
  }

  private tooLong(pending: number): boolean {
    if (this.dataLength + pending <= this.maxBytes) return false;
    this.dead = true;
    this.parts = undefined;
    this.data = undefined;
    this.moreData = undefined;
    this.sink.onoversize?.();
    return true;
  }

  /** One line: `buf[from..to)`, without its LF. */
  private line(buf: Buffer, from: number, to: number): void {
    if (to > from && buf[to - 1] === 13) to--;
    if (to === from) {
      const { data, moreData } = this;
      if (data || this.idSeen) {
        const joined = moreData ? Buffer.concat(joinWithNewlines(data as Buffer, moreData)) : (data ?? EMPTY);
        this.data = undefined;
        this.moreData = undefined;
        this.sink.onevent(joined, this.id, this.event || "message");
      }
      this.dataLength = 0;
      this.event = "";
      this.idSeen = false;
      return;
    }
    if (buf[from] === 58 /* : comment */) return;
    let colon = from;
    while (colon < to && buf[colon] !== 58) colon++;
    let value = colon < to ? colon + 1 : to;
    if (value < to && buf[value] === 32) value++;
    if (bytesAre(buf, from, colon, "data")) {
      const line = buf.subarray(value, to);
      if (!this.data) this.data = line;
      else if (this.moreData) this.moreData.push(line);
      else this.moreData = [line];
      this.dataLength += to - value;
    } else if (bytesAre(buf, from, colon, "id")) {
      // An id with NUL is ignored (SSE spec); CR would not survive a Last-Event-ID header.
      if (!hasNulOrCr(buf, value, to)) {
        this.id = buf.toString("utf8", value, to);
        this.idSeen = true;
      }
    } else if (bytesAre(buf, from, colon, "event"))
      this.event = bytesAre(buf, value, to, "message") ? "message" : buf.toString("utf8", value, to);
    else if (bytesAre(buf, from, colon, "retry") && this.sink.onretry) {
      const ms = digitsAt(buf, value, to);
      if (ms !== undefined) this.sink.onretry(ms);
    }
  }
}

/** SseParser as a function to feed chunks to (`limit`: the cap and what to do past it). */
export function sseParser(
  onevent: SseSink["onevent"],
  onretry?: (ms: number) => void,
  limit?: { maxBytes: number; onoversize(): void },
): (chunk: Buffer) => void {
  const parser = new SseParser({ onevent, onretry, onoversize: limit?.onoversize }, limit?.maxBytes);
  return (chunk) => parser.push(chunk);
}

function joinWithNewlines(first: Buffer, more: Buffer[]): Buffer[] {
  const out: Buffer[] = [first];
  for (const p of more) out.push(NEWLINE, p);
  return out;
}
const NEWLINE = Buffer.from("\n");

function bodyLength(body: Body): number {
  if (typeof body === "string") return Buffer.byteLength(body);
  if (Buffer.isBuffer(body)) return body.length;
  let n = 0;
  for (const piece of body) n += piece.length;
  return n;
}

/** How one POST's SSE answer is going: where to resume it from, and whether its answer came. */
interface StreamState {
  /** The request id whose answer this stream must carry (undefined for notifications). */
  expect?: Id;
  answered: boolean;
  /** Last SSE event id seen on this stream (Last-Event-ID for a resume). */
  lastId?: string;
  /** The server's `retry:` advice in ms. */
  retryMs?: number;
  /** The caller gave up (timeout or cancellation): stop resuming. */
  abandoned?: boolean;
  /** The exchange reading this stream now (aborted when the call is abandoned). */
  current?: Exchange;
  wake?: () => void;
}

interface Answer {
  status: number;
  /** Error text for a failed exchange (status ≥ 400 or network error). */
  problem?: string;
  /** The answer was an SSE stream. */
  sse?: boolean;
  /** The connection broke before the answer's end. */
  broken?: boolean;
}

/** Headers warden sets itself: a configured header with one of these names is ignored. */
const OWN_HEADERS = new Set([
  "host",
  "content-type",
  "content-length",
  "transfer-encoding",
  "connection",
  "accept",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
]);
/** Session ids are visible ASCII (spec); anything else is not put into a header. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
/** First wait before resuming a broken stream when the server gave no `retry:`; doubles per idle attempt. */
const RESUME_DELAY_MS = 250;
const RESUME_DELAY_MAX_MS = 5000;
/** Consecutive failed resume requests (network errors, 5xx, 409) before the call is failed. */
const RESUME_MAX_FAILURES = 5;

function errorText(status: number, text: string): string {
  let detail = text.trim();
  try {
    const body = JSON.parse(detail) as { error?: { message?: string } };
    if (body.error?.message) detail = body.error.message;
  } catch {}
  return `HTTP ${status}${detail ? `: ${detail.slice(0, 200)}` : ""}`;
}

export async function connectStreamableWire(
  name: string,
  cfg: RemoteServerConfig,
  warn: (msg: string) => void = () => {},
): Promise<Wire> {
  const maxAnswerBytes = cfg.maxAnswerBytes ?? Number.POSITIVE_INFINITY;
  const pool = new Http1Pool(new URL(cfg.url));
  const userHeaders = Object.fromEntries(
    Object.entries(cfg.headers ?? {}).filter(([k]) => !OWN_HEADERS.has(k.toLowerCase())),
  );
  let userLines: string;
  try {
    userLines = headerLines(userHeaders);
  } catch (err) {
    throw new Error(`server '${name}': ${(err as Error).message}`);
  }
  const postLine = pool.requestLine("POST");
  const getLine = pool.requestLine("GET");
  const deleteLine = pool.requestLine("DELETE");
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  /** Header lines for the session id and protocol version, rebuilt when either changes. */
  let sessionLines = "";
  /** A POST's head up to its content-length value (rebuilt with the session lines). */
  let postPrefix = "";
  const setSession = (id: string | undefined) => {
    sessionId = id;
    sessionLines =
      (sessionId ? `mcp-session-id: ${sessionId}\r\n` : "") +
      (protocolVersion ? `mcp-protocol-version: ${protocolVersion}\r\n` : "");
    postPrefix = `${postLine}${userLines}content-type: application/json\r\naccept: ${ACCEPT_BOTH}\r\n${sessionLines}content-length: `;
  };
  let closed = false;
  /** The last initialize request: replayed when the session expires. */
  let initBody: string | undefined;
  let reinitializing: Promise<void> | undefined;
  let getStream: Exchange | undefined;
  let getRetry: NodeJS.Timeout | undefined;
  let getState: StreamState = { answered: false };
  let getStreamSupported = true;
  /** Requests whose POST (or its resume) is still being read, by id. */
  const open = new SlotMap<Id, StreamState>(); // an entry per call: no Map table churn

  setSession(undefined);
  const postHead = (length: number) => `${postPrefix}${length}\r\n\r\n`;
  const getHead = (lastEventId?: string) =>
    `${getLine}${userLines}accept: text/event-stream\r\n${sessionLines}${lastEventId === undefined ? "" : `last-event-id: ${lastEventId}\r\n`}\r\n`;

  /** Delivers one JSON-RPC body; returns the id when it was a response. */
  const deliverBytes = (bytes: Buffer, onmessage: (m: JsonRpcMessage) => void): Id | undefined => {
    if (wire.onrawresult && onmessage === deliver) {
      const hit = rawResultId(bytes);
      if (hit && wire.onrawresult(hit.id, bytes, hit.idStart)) return hit.id;
    }
    let parsed: JsonRpcMessage | JsonRpcMessage[];
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      return undefined; // Not JSON-RPC: nothing to route.
    }
    if (Array.isArray(parsed)) {
      for (const m of parsed) onmessage(m);
      return undefined;
    }
    onmessage(parsed);
    return "method" in parsed ? undefined : (parsed as { id?: Id }).id;
  };
  const deliver = (m: JsonRpcMessage) => wire.onmessage?.(m);

  /**
   * Reads one HTTP exchange's answer (the pool's handlers for it): JSON answers (one message or
   * a batch) and SSE streams of messages go to `onmessage`; `st` follows the stream's event ids
   * and notes when its awaited answer came. A class (and the SSE parser's sink), so a call
   * allocates one object for its handlers and their state instead of a closure each.
   */
  class AnswerReader implements ExchangeHandlers, SseSink {
    status = 0;
    mode: "none" | "sse" | "json" | "error" | "dropped" = "none";
    sse?: SseParser;
    parts?: Buffer[];
    size = 0;
    text = "";
    ex?: Exchange;

    constructor(
      readonly onmessage: (m: JsonRpcMessage) => void,
      readonly st: StreamState | undefined,
      private readonly resolve?: (answer: Answer) => void,
    ) {}

    /** The exchange is over (called once, from onend). */
    protected settle(answer: Answer): void {
      this.resolve?.(answer);
    }

    /**
     * A message over maxAnswerBytes: stop reading (closing this response's socket) and fail
     * the request this exchange carries; it is not resumed (the server would send it again).
     */
    oversize(bytes: string): void {
      this.mode = "dropped";
      this.parts = undefined;
      const { st } = this;
      const problem = oversizeProblem(name, bytes, maxAnswerBytes);
      const id = st?.expect;
      warn(`${problem}${id === undefined ? "" : ` (answer to request ${id}: failed)`}`);
      if (st && id !== undefined && !st.answered) {
        st.answered = true;
        deliver(oversizeAnswer(id, problem, maxAnswerBytes));
      }
      // The standalone GET stream starts afresh rather than replaying the dropped event.
      if (st === getState) st.lastId = undefined;
      this.ex?.abort();
    }

    onevent(data: Buffer, id: string | undefined, event: string): void {
      const { st } = this;
      if (st && id !== undefined) st.lastId = id;
      if (event === "message" && data.length) {
        const got = deliverBytes(data, this.onmessage);
        if (st && got !== undefined && got === st.expect) st.answered = true;
      }
    }

    onretry(ms: number): void {
      if (this.st) this.st.retryMs = ms;
    }

    onoversize(): void {
      this.oversize(`more than ${maxAnswerBytes}`);
    }

    onresponse(res: Http1Response): void {
      this.status = res.status;
      const sid = res.headers.get("mcp-session-id");
      if (sid && sid !== sessionId && VISIBLE_ASCII.test(sid)) setSession(sid);
      if (this.status >= 400) this.mode = "error";
      else {
        const type = res.headers.get("content-type") ?? "";
        if (type.includes("text/event-stream")) {
          this.mode = "sse";
          this.sse = new SseParser(this, maxAnswerBytes);
        } else if (type.includes("json")) this.mode = "json";
      }
    }

    ondata(chunk: Buffer): void {
      if (this.mode === "sse") (this.sse as SseParser).push(chunk);
      else if (this.mode === "json") {
        if (this.parts) this.parts.push(chunk);
        else this.parts = [chunk];
        this.size += chunk.length;
        if (this.size > maxAnswerBytes) this.oversize(`more than ${maxAnswerBytes}`);
      } else if (this.mode === "error" && this.text.length < 500) this.text += chunk.toString("utf8");
    }

    onend(error?: Error): void {
      const { st, parts, status } = this;
      if (st && st.current === this.ex) st.current = undefined;
      if (this.mode === "json" && parts && this.size && !error) {
        const got = deliverBytes(
          parts.length === 1 ? parts[0] : Buffer.concat(parts, this.size),
          this.onmessage,
        );
        if (st && got !== undefined && got === st.expect) st.answered = true;
      }
      this.parts = undefined;
      if (this.mode === "error") this.settle({ status, problem: errorText(status, this.text) });
      else if (error && status === 0) this.settle({ status, problem: error.message });
      else this.settle({ status, sse: this.mode === "sse", broken: error !== undefined });
    }
  }

  /**
   * Reads the answer to one POSTed message, then finishes the POST (`posted`) without a promise:
   * the usual call (answered, no problem) ends right there; anything else continues in
   * `afterPost`.
   */
  class PostReader extends AnswerReader {
    constructor(
      readonly message: JsonRpcMessage | undefined,
      readonly body: Body,
      readonly length: number,
      /** The session the POST was sent in (a 404 in it means the server forgot it). */
      readonly hadSession: string | undefined,
      override readonly st: StreamState,
    ) {
      super(deliver, st);
    }

    protected override settle(answer: Answer): void {
      posted(this, answer);
    }
  }

  /** One HTTP exchange, read by an AnswerReader; resolves when its answer (or stream) is over. */
  const exchange = (
    head: string,
    body: Body | undefined,
    onmessage: (m: JsonRpcMessage) => void,
    st?: StreamState,
  ): Promise<Answer> =>
    new Promise((resolve) => {
      const reader = new AnswerReader(onmessage, st, resolve);
      reader.ex = pool.request(head, body, reader);
      if (st) st.current = reader.ex;
    });

  /** Initializes a new session with the stored initialize request (its answer is not forwarded). */
  const reinitialize = (): Promise<void> => {
    reinitializing ??= (async () => {
      setSession(undefined);
      getState = { answered: false }; // event ids belong to the old session
      stopGetStream();
      const init = JSON.parse(initBody as string) as { id: Id };
      init.id = `warden-reinit-${Date.now()}`;
      let ok = false;
      const initText = JSON.stringify(init);
      const out = await exchange(postHead(Buffer.byteLength(initText)), initText, (m) => {
        if ("id" in m && m.id === init.id && "result" in m) ok = true;
      });
      if (!ok || !sessionId) throw new Error(out.problem ?? "initialize was not answered");
      const note = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
      await exchange(postHead(note.length), note, () => {});
      startGetStream();
    })().finally(() => {
      reinitializing = undefined;
    });
    return reinitializing;
  };

  /** Answers request `id` (if any: notifications get no answer) with a downstream error. */
  const failRequest = (id: Id | undefined, problem: string) => {
    if (id === undefined) return;
    deliver({
      jsonrpc: "2.0",
      id,
      error: { code: ErrorCodes.Downstream, message: `server '${name}' unreachable: ${problem}` },
    });
  };

  /**
   * The POST's SSE stream ended before the answer: resume it with GET + Last-Event-ID (the spec's
   * resumability), waiting the server's `retry:` advice between attempts, until the answer comes,
   * the call is abandoned (timeout/cancel), the wire closes, or resuming keeps failing.
   */
  const resume = async (id: Id, st: StreamState) => {
    let failures = 0;
    let idle = 0;
    while (!closed && !st.answered && !st.abandoned) {
      if (st.lastId === undefined) {
        failRequest(id, "the response stream ended before the answer, with no event id to resume it from");
        return;
      }
      if (failures >= RESUME_MAX_FAILURES) {
        failRequest(id, `the response stream ended before the answer; resuming it failed ${failures} times`);
        return;
      }
      const wait = st.retryMs ?? Math.min(RESUME_DELAY_MS * 2 ** (idle + failures), RESUME_DELAY_MAX_MS);
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        st.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      st.wake = undefined;
      if (closed || st.abandoned) return;
      const before = st.lastId;
      const out = await exchange(getHead(st.lastId), undefined, deliver, st);
      if (out.problem) {
        const retryable = out.status === 0 || out.status === 409 || out.status === 429 || out.status >= 500;
        if (!retryable) {
          failRequest(id, `the response stream ended before the answer; resuming it: ${out.problem}`);
          return;
        }
        failures++;
      } else {
        failures = 0;
        idle = st.lastId === before ? idle + 1 : 0;
      }
    }
  };

  /** Stops tracking a POST's stream (unless a resend replaced it). */
  const forget = (st: StreamState) => {
    if (st.expect !== undefined && open.get(st.expect) === st) open.delete(st.expect);
  };

  /**
   * POSTs one message (`expect`: the id of a request, whose answer the stream must bring). No
   * promise or async function per call: the PostReader finishes the POST when its answer is over.
   */
  const post = (message: JsonRpcMessage | undefined, body: Body, expect: Id | undefined) => {
    if (reinitializing) {
      // A new session is being made: send once it is there.
      void reinitializing
        .catch(() => {})
        .then(() => post(message, body, expect))
        .catch((err: Error) => failRequest(expect, err.message));
      return;
    }
    const st: StreamState = { expect, answered: false };
    if (expect !== undefined) open.set(expect, st);
    try {
      const reader = new PostReader(message, body, bodyLength(body), sessionId, st);
      reader.ex = pool.request(postHead(reader.length), body, reader);
      st.current = reader.ex;
    } catch (err) {
      forget(st);
      failRequest(expect, (err as Error).message);
    }
  };

  /** A POST's exchange is over: done when its request was answered; the rest goes to afterPost. */
  const posted = (r: PostReader, out: Answer) => {
    const { st } = r;
    if (out.problem === undefined && st.expect !== undefined && st.answered) {
      forget(st);
      return;
    }
    // After the pool has taken the socket back (as when awaited), like every other exchange's end.
    void Promise.resolve()
      .then(() => afterPost(r, out))
      .catch((err: Error) => failRequest(st.expect, err.message))
      .finally(() => forget(st));
  };

  /**
   * The rest of a POST whose answer did not simply come: a 404 in a live session (expired)
   * re-initializes and sends once more; a failed exchange fails the request; an SSE stream that
   * ended before the answer is resumed; a JSON answer cut off fails it; an accepted
   * notifications/initialized opens the GET stream.
   */
  const afterPost = async (r: PostReader, first: Answer) => {
    const { message, length, body } = r;
    const expect = r.st.expect;
    let st = r.st;
    let out = first;
    if (out.status === 404 && r.hadSession && initBody && !closed) {
      // The server forgot our session (restart, expiry): start a new one and try once more.
      try {
        if (sessionId === r.hadSession) await reinitialize();
        else if (reinitializing) await reinitializing;
      } catch (err) {
        failRequest(expect, `session expired and re-initializing failed: ${(err as Error).message}`);
        lost(`server '${name}' session expired and could not be re-initialized`);
        return;
      }
      st = { expect, answered: false, abandoned: st.abandoned };
      if (expect !== undefined) open.set(expect, st);
      try {
        out = await exchange(postHead(length), body, deliver, st);
        await concludePost(message, st, out);
      } finally {
        forget(st);
      }
      return;
    }
    await concludePost(message, st, out);
  };

  const concludePost = async (message: JsonRpcMessage | undefined, st: StreamState, out: Answer) => {
    const { expect } = st;
    if (out.problem) failRequest(expect, out.problem);
    else if (expect !== undefined && out.sse && !st.answered && !closed) await resume(expect, st);
    else if (expect !== undefined && out.broken && !st.answered && !closed)
      failRequest(expect, "the connection broke before the answer"); // a JSON answer cannot be resumed
    else if (
      message &&
      "method" in message &&
      message.method === "notifications/initialized" &&
      (out.status === 202 || out.status === 204)
    ) {
      startGetStream();
    }
  };

  /** The caller gave up on a request (our connection sends notifications/cancelled on timeout and abort). */
  const abandon = (message: JsonRpcMessage) => {
    const rid = (message as { params?: { requestId?: Id } }).params?.requestId;
    const st = rid === undefined ? undefined : open.get(rid);
    if (!st) return;
    st.abandoned = true;
    st.wake?.();
    if (!st.answered) st.current?.abort();
  };

  const startGetStream = () => {
    if (closed || !getStreamSupported || getStream || !sessionId) return;
    const st = getState;
    const p = exchange(getHead(st.lastId), undefined, deliver, st);
    getStream = st.current;
    const mine = getStream;
    p.then((out) => {
      if (getStream !== mine) return;
      getStream = undefined;
      if (closed) return;
      if (out.status >= 400) {
        // 405: the server offers no standalone stream. Others: give up until the next session.
        if (out.status === 405) getStreamSupported = false;
        return;
      }
      getRetry = setTimeout(startGetStream, out.problem ? 1000 : 500);
      getRetry.unref();
    });
  };

  const stopGetStream = () => {
    if (getRetry) clearTimeout(getRetry);
    getRetry = undefined;
    const ex = getStream;
    getStream = undefined;
    ex?.abort();
  };

  const lost = (reason: string) => {
    if (closed) return;
    closed = true;
    stopGetStream();
    pool.close();
    wire.onclose?.(reason);
  };

  const wire: Wire = {
    supportsRaw: true,
    send(message: JsonRpcMessage) {
      if (closed) return;
      const body = JSON.stringify(message);
      if ("method" in message) {
        if (message.method === "initialize" && "id" in message) initBody = body;
        else if (message.method === "notifications/cancelled" && open.size) abandon(message);
      }
      const expect = "method" in message && "id" in message ? message.id : undefined;
      post(message, body, expect);
    },
    sendRaw(line: string | Buffer[], id: number) {
      if (closed) return;
      post(undefined, line, id);
    },
    setProtocolVersion(v: string) {
      protocolVersion = v;
      setSession(sessionId);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopGetStream();
      for (const st of open.values()) st.wake?.();
      if (sessionId) {
        const done = exchange(`${deleteLine}${userLines}${sessionLines}\r\n`, undefined, () => {});
        await Promise.race([done, new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      pool.close();
    },
  };
  return wire;
}
