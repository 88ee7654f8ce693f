// A lean Streamable HTTP client for remote downstream servers, on the small HTTP/1.1 client in
// http1.ts (keep-alive sockets, one write per request). Speaks the protocol: Mcp-Session-Id from
// initialize, the negotiated MCP-Protocol-Version header, JSON or SSE answers to each POST, a GET
// SSE stream for server-initiated messages (resumed with Last-Event-ID), a POST's SSE stream that
// ends before its answer resumed with GET + Last-Event-ID (honouring `retry:`), DELETE on close,
// and a 404 on a live session (expired) answered by initializing again and resending the message.
import type { RemoteServerConfig } from "../config/schema.js";
import { type Body, type Exchange, Http1Pool, headerLines } from "./http1.js";
import { ErrorCodes, type Id, type JsonRpcMessage } from "./jsonrpc.js";
import { rawResultId } from "./ndjson.js";
import { oversizeAnswer, oversizeProblem } from "./oversize.js";
import type { Wire } from "./wire.js";

const ACCEPT_BOTH = "application/json, text/event-stream";
const EMPTY = Buffer.alloc(0);

/**
 * Splits an SSE byte stream into events; `data` keeps its bytes (one data line within one chunk:
 * no copy; a line spread over chunks is joined once). Events with an id but no data
 * (resumability priming) are reported too, with empty data; `retry:` values go to `onretry`.
 * An event whose data (with the line being read) grows past `limit.maxBytes` is dropped:
 * `limit.onoversize` is called once and the parser ignores the rest of the stream.
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
  let data: Buffer[] = [];
  let id: string | undefined;
  let idSeen = false;
  let event = "";
  const line = (raw: Buffer) => {
    const l = raw.length && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
    if (l.length === 0) {
      if (data.length || idSeen) {
        const joined = data.length <= 1 ? (data[0] ?? EMPTY) : Buffer.concat(joinWithNewlines(data));
        onevent(joined, id, event || "message");
      }
      data = [];
      dataLength = 0;
      event = "";
      idSeen = false;
      return;
    }
    if (l[0] === 58 /* : comment */) return;
    const colon = l.indexOf(58);
    const field = (colon === -1 ? l : l.subarray(0, colon)).toString("latin1");
    let value = colon === -1 ? l.subarray(l.length) : l.subarray(colon + 1);
    if (value[0] === 32) value = value.subarray(1);
    if (field === "data") {
      data.push(value);
      dataLength += value.length;
    } else if (field === "id") {
      const v = value.toString("utf8");
      // An id with NUL is ignored (SSE spec); CR would not survive a Last-Event-ID header.
      if (!/[\0\r]/.test(v)) {
        id = v;
        idSeen = true;
      }
    } else if (field === "event") event = value.toString("utf8");
    else if (field === "retry" && onretry) {
      const v = value.toString("latin1");
      if (/^\d+$/.test(v)) onretry(Number(v));
    }
  };
  const tooLong = (pending: number) => {
    if (dataLength + pending <= max) return false;
    dead = true;
    parts = data = [];
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
        line(Buffer.concat(parts, partsLength + nl - start));
        parts = [];
        partsLength = 0;
      } else line(chunk.subarray(start, nl));
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
  const setSession = (id: string | undefined) => {
    sessionId = id;
    sessionLines =
      (sessionId ? `mcp-session-id: ${sessionId}\r\n` : "") +
      (protocolVersion ? `mcp-protocol-version: ${protocolVersion}\r\n` : "");
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
  const open = new Map<Id, StreamState>();

  const postHead = (length: number) =>
    `${postLine}${userLines}content-type: application/json\r\naccept: ${ACCEPT_BOTH}\r\n${sessionLines}content-length: ${length}\r\n\r\n`;
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
   * One HTTP exchange: JSON answers (one message or a batch) and SSE streams of messages go to
   * `onmessage`; `st` follows the stream's event ids and notes when its awaited answer came.
   */
  const exchange = (
    head: string,
    body: Body | undefined,
    onmessage: (m: JsonRpcMessage) => void,
    st?: StreamState,
  ): Promise<Answer> =>
    new Promise((resolve) => {
      let status = 0;
      let mode: "none" | "sse" | "json" | "error" | "dropped" = "none";
      let sse: ((chunk: Buffer) => void) | undefined;
      let parts: Buffer[] = [];
      let size = 0;
      let text = "";
      /**
       * A message over maxAnswerBytes: stop reading (closing this response's socket) and fail
       * the request this exchange carries; it is not resumed (the server would send it again).
       */
      const oversize = (bytes: string) => {
        mode = "dropped";
        parts = [];
        const problem = oversizeProblem(name, bytes, maxAnswerBytes);
        const id = st?.expect;
        warn(`${problem}${id === undefined ? "" : ` (answer to request ${id}: failed)`}`);
        if (st && id !== undefined && !st.answered) {
          st.answered = true;
          deliver(oversizeAnswer(id, problem, maxAnswerBytes));
        }
        // The standalone GET stream starts afresh rather than replaying the dropped event.
        if (st === getState) st.lastId = undefined;
        ex.abort();
      };
      const ex = pool.request(head, body, {
        onresponse(res) {
          status = res.status;
          const sid = res.headers.get("mcp-session-id");
          if (sid && sid !== sessionId && VISIBLE_ASCII.test(sid)) setSession(sid);
          if (status >= 400) mode = "error";
          else {
            const type = res.headers.get("content-type") ?? "";
            if (type.includes("text/event-stream")) {
              mode = "sse";
              sse = sseParser(
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
                { maxBytes: maxAnswerBytes, onoversize: () => oversize(`more than ${maxAnswerBytes}`) },
              );
            } else if (type.includes("json")) mode = "json";
          }
        },
        ondata(chunk) {
          if (mode === "sse") (sse as (c: Buffer) => void)(chunk);
          else if (mode === "json") {
            parts.push(chunk);
            size += chunk.length;
            if (size > maxAnswerBytes) oversize(`more than ${maxAnswerBytes}`);
          } else if (mode === "error" && text.length < 500) text += chunk.toString("utf8");
        },
        onend(error) {
          if (st && st.current === ex) st.current = undefined;
          if (mode === "json" && size && !error) {
            const got = deliverBytes(parts.length === 1 ? parts[0] : Buffer.concat(parts, size), onmessage);
            if (st && got !== undefined && got === st.expect) st.answered = true;
          }
          parts = [];
          if (mode === "error") resolve({ status, problem: errorText(status, text) });
          else if (error && status === 0) resolve({ status, problem: error.message });
          else resolve({ status, sse: mode === "sse", broken: error !== undefined });
        },
      });
      if (st) st.current = ex;
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
