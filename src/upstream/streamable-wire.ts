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

/**
 * Splits an SSE byte stream into events; `data` keeps its bytes (one data line within one chunk:
 * no copy; a line spread over chunks is joined once). Events with an id but no data
 * (resumability priming) are reported too, with empty data; `retry:` values go to `onretry`.
 * An event whose data (with the line being read) grows past `limit.maxBytes` is dropped:
 * `limit.onoversize` is called once and the parser ignores the rest of the stream.
 * Lines are read by offset: per event the only allocations are the data view (and the event
 * name when it is not "message"), which matters on the per-call path of SSE answers.
 */
export function sseParser(
  onevent: (data: Buffer, id: string | undefined, event: string) => void,
  onretry?: (ms: number) => void,
  limit?: { maxBytes: number; onoversize(): void },
) {
  let parts: Buffer[] = [];
  let partsLength = 0;
  const max = limit?.maxBytes ?? Number.POSITIVE_INFINITY;
  let dead = false;
  /** Bytes of the current event's data lines so far. */
  let dataLength = 0;
  const data: Buffer[] = [];
  let id: string | undefined;
  let idSeen = false;
  let event = "";
  /** One line: `buf[from..to)`, without its LF. */
  const line = (buf: Buffer, from: number, to: number) => {
    if (to > from && buf[to - 1] === 13) to--;
    if (to === from) {
      if (data.length || idSeen) {
        const joined = data.length <= 1 ? (data[0] ?? EMPTY) : Buffer.concat(joinWithNewlines(data));
        data.length = 0;
        onevent(joined, id, event || "message");
      }
      dataLength = 0;
      event = "";
      idSeen = false;
      return;
    }
    if (buf[from] === 58 /* : comment */) return;
    let colon = from;
    while (colon < to && buf[colon] !== 58) colon++;
    let value = colon < to ? colon + 1 : to;
    if (value < to && buf[value] === 32) value++;
    if (bytesAre(buf, from, colon, "data")) {
      data.push(buf.subarray(value, to));
      dataLength += to - value;
    } else if (bytesAre(buf, from, colon, "id")) {
      const v = buf.toString("utf8", value, to);
      // An id with NUL is ignored (SSE spec); CR would not survive a Last-Event-ID header.
      if (!/[\0\r]/.test(v)) {
        id = v;
        idSeen = true;
      }
    } else if (bytesAre(buf, from, colon, "event"))
      event = bytesAre(buf, value, to, "message") ? "message" : buf.toString("utf8", value, to);
    else if (bytesAre(buf, from, colon, "retry") && onretry) {
      const v = buf.toString("latin1", value, to);
      if (/^\d+$/.test(v)) onretry(Number(v));
    }
  };
  const tooLong = (pending: number) => {
    if (dataLength + pending <= max) return false;
    dead = true;
    parts = [];
    data.length = 0;
    (limit as { onoversize(): void }).onoversize();
    return true;
  };
  return (chunk: Buffer) => {
    if (dead) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (tooLong(partsLength + nl - start)) return;
      if (partsLength) {
        parts.push(chunk.subarray(start, nl));
        const joined = Buffer.concat(parts, partsLength + nl - start);
        parts = [];
        partsLength = 0;
        line(joined, 0, joined.length);
      } else line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      partsLength += chunk.length - start;
      tooLong(partsLength);
    }
  };
}

function joinWithNewlines(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  const nl = Buffer.from("\n");
  parts.forEach((p, i) => {
    if (i) out.push(nl);
    out.push(p);
  });
  return out;
}

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
   * and notes when its awaited answer came. A class, so a call allocates one object for its
   * handlers and their state instead of a closure each.
   */
  class AnswerReader implements ExchangeHandlers {
    status = 0;
    mode: "none" | "sse" | "json" | "error" | "dropped" = "none";
    sse?: (chunk: Buffer) => void;
    parts?: Buffer[];
    size = 0;
    text = "";
    ex?: Exchange;

    constructor(
      readonly onmessage: (m: JsonRpcMessage) => void,
      readonly st: StreamState | undefined,
      readonly resolve: (answer: Answer) => void,
    ) {}

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

    onresponse(res: Http1Response): void {
      this.status = res.status;
      const sid = res.headers.get("mcp-session-id");
      if (sid && sid !== sessionId && VISIBLE_ASCII.test(sid)) setSession(sid);
      if (this.status >= 400) this.mode = "error";
      else {
        const type = res.headers.get("content-type") ?? "";
        if (type.includes("text/event-stream")) {
          this.mode = "sse";
          const { st, onmessage } = this;
          this.sse = sseParser(
            (data, id, event) => {
              if (st && id !== undefined) st.lastId = id;
              if (event === "message" && data.length) {
                const got = deliverBytes(data, onmessage);
                if (st && got !== undefined && got === st.expect) st.answered = true;
              }
            },
            (ms) => {
              if (st) st.retryMs = ms;
            },
            { maxBytes: maxAnswerBytes, onoversize: () => this.oversize(`more than ${maxAnswerBytes}`) },
          );
        } else if (type.includes("json")) this.mode = "json";
      }
    }

    ondata(chunk: Buffer): void {
      if (this.mode === "sse") (this.sse as (c: Buffer) => void)(chunk);
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
      if (this.mode === "error") this.resolve({ status, problem: errorText(status, this.text) });
      else if (error && status === 0) this.resolve({ status, problem: error.message });
      else this.resolve({ status, sse: this.mode === "sse", broken: error !== undefined });
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

  /** POSTs one message (`expect`: the id of a request, whose answer the stream must bring). */
  const sendNow = async (message: JsonRpcMessage | undefined, body: Body, expect: Id | undefined) => {
    if (reinitializing) await reinitializing.catch(() => {});
    const hadSession = sessionId;
    let st: StreamState = { expect, answered: false };
    if (expect !== undefined) open.set(expect, st);
    try {
      const length = bodyLength(body);
      let out = await exchange(postHead(length), body, deliver, st);
      if (out.status === 404 && hadSession && initBody && !closed) {
        // The server forgot our session (restart, expiry): start a new one and try once more.
        try {
          if (sessionId === hadSession) await reinitialize();
          else if (reinitializing) await reinitializing;
        } catch (err) {
          failRequest(expect, `session expired and re-initializing failed: ${(err as Error).message}`);
          lost(`server '${name}' session expired and could not be re-initialized`);
          return;
        }
        st = { expect, answered: false, abandoned: st.abandoned };
        if (expect !== undefined) open.set(expect, st);
        out = await exchange(postHead(length), body, deliver, st);
      }
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
    } finally {
      if (expect !== undefined && open.get(expect) === st) open.delete(expect);
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
      sendNow(message, body, expect).catch((err: Error) => failRequest(expect, err.message));
    },
    sendRaw(line: string | Buffer[], id: number) {
      if (closed) return;
      sendNow(undefined, line, id).catch((err: Error) => failRequest(id, err.message));
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
