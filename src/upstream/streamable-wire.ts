// A lean Streamable HTTP client for remote downstream servers: node:http with keep-alive sockets
// and no Nagle delay. The SDK client transport (fetch) cost 20–40 ms per call; this costs about
// what a raw HTTP request does. Speaks the protocol: Mcp-Session-Id from initialize, the
// negotiated MCP-Protocol-Version header, JSON or SSE answers to each POST, a GET SSE stream for
// server-initiated messages (resumed with Last-Event-ID), DELETE on close, and a 404 on a live
// session (expired) answered by initializing again and resending the message.
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { RemoteServerConfig } from "../config/schema.js";
import { ErrorCodes, type Id, type JsonRpcMessage } from "./jsonrpc.js";
import { rawResultId } from "./ndjson.js";
import type { Wire } from "./wire.js";

const ACCEPT_BOTH = "application/json, text/event-stream";
const EMPTY = Buffer.alloc(0);

/**
 * Splits an SSE byte stream into events; `data` keeps its bytes (one data line: no copy). Events
 * with an id but no data (resumability priming) are reported too, with empty data.
 */
export function sseParser(onevent: (data: Buffer, id: string | undefined, event: string) => void) {
  let pending: Buffer | undefined;
  let data: Buffer[] = [];
  let id: string | undefined;
  let idSeen = false;
  let event = "";
  const line = (l: Buffer) => {
    if (l.length === 0) {
      if (data.length || idSeen) {
        const joined = data.length <= 1 ? (data[0] ?? EMPTY) : Buffer.concat(joinWithNewlines(data));
        onevent(joined, id, event || "message");
      }
      data = [];
      event = "";
      idSeen = false;
      return;
    }
    if (l[0] === 58 /* : comment */) return;
    const colon = l.indexOf(58);
    const field = (colon === -1 ? l : l.subarray(0, colon)).toString("latin1");
    let value = colon === -1 ? l.subarray(l.length) : l.subarray(colon + 1);
    if (value[0] === 32) value = value.subarray(1);
    if (field === "data") data.push(value);
    else if (field === "id") {
      id = value.toString("utf8");
      idSeen = true;
    } else if (field === "event") event = value.toString("utf8");
  };
  return (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let start = 0;
    for (let nl = buf.indexOf(10, 0); nl !== -1; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      line(buf.subarray(start, end));
      start = nl + 1;
    }
    if (start < buf.length) pending = buf.subarray(start);
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

interface PostOutcome {
  status: number;
  /** Error text for a failed POST (status ≥ 400 or network error). */
  problem?: string;
}

export async function connectStreamableWire(name: string, cfg: RemoteServerConfig): Promise<Wire> {
  const url = new URL(cfg.url);
  const lib = url.protocol === "https:" ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" });
  const userHeaders = cfg.headers ?? {};
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  let closed = false;
  /** The last initialize request and initialized notification: replayed when the session expires. */
  let initBody: string | undefined;
  let reinitializing: Promise<void> | undefined;
  let getStream: http.ClientRequest | undefined;
  let getRetry: NodeJS.Timeout | undefined;
  let lastEventId: string | undefined;
  let getStreamSupported = true;

  const headers = (extra: Record<string, string>): Record<string, string> => {
    const h: Record<string, string> = { ...userHeaders, ...extra };
    if (sessionId) h["mcp-session-id"] = sessionId;
    if (protocolVersion) h["mcp-protocol-version"] = protocolVersion;
    return h;
  };

  const deliverBytes = (bytes: Buffer, onmessage: (m: JsonRpcMessage) => void) => {
    if (wire.onrawresult && onmessage === deliver) {
      const hit = rawResultId(bytes);
      if (hit && wire.onrawresult(hit.id, bytes, hit.idStart)) return;
    }
    let parsed: JsonRpcMessage | JsonRpcMessage[];
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      return; // Not JSON-RPC: nothing to route.
    }
    if (Array.isArray(parsed)) for (const m of parsed) onmessage(m);
    else onmessage(parsed);
  };
  const deliver = (m: JsonRpcMessage) => wire.onmessage?.(m);

  /** Reads a POST/GET answer body: JSON (one message or a batch) or an SSE stream of messages. */
  const readBody = (res: IncomingMessage, onmessage: (m: JsonRpcMessage) => void, trackIds = false) =>
    new Promise<void>((resolve) => {
      const type = res.headers["content-type"] ?? "";
      if (type.includes("text/event-stream")) {
        const parse = sseParser((data, id, event) => {
          if (trackIds && id !== undefined) lastEventId = id;
          if (event === "message" && data.length) deliverBytes(data, onmessage);
        });
        res.on("data", parse);
      } else {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          if (body.length && type.includes("json")) deliverBytes(body, onmessage);
        });
      }
      res.on("end", resolve);
      res.on("error", () => resolve());
      res.on("aborted", () => resolve());
    });

  const errorText = (res: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (text.length < 500) text += c;
      });
      const done = () => {
        let detail = text.trim();
        try {
          const body = JSON.parse(detail) as { error?: { message?: string } };
          if (body.error?.message) detail = body.error.message;
        } catch {}
        resolve(`HTTP ${res.statusCode}${detail ? `: ${detail.slice(0, 200)}` : ""}`);
      };
      res.on("end", done);
      res.on("error", done);
    });

  /** POSTs one message; answers (and anything else the server streams) go to `onmessage`. */
  const post = (body: string, onmessage: (m: JsonRpcMessage) => void): Promise<PostOutcome> =>
    new Promise((resolve) => {
      const req = lib.request(url, {
        method: "POST",
        agent,
        headers: headers({
          "content-type": "application/json",
          accept: ACCEPT_BOTH,
          "content-length": String(Buffer.byteLength(body)),
        }),
      });
      req.on("socket", (s) => s.setNoDelay(true));
      req.on("error", (err) => resolve({ status: 0, problem: err.message }));
      req.on("response", (res) => {
        const sid = res.headers["mcp-session-id"];
        if (typeof sid === "string" && sid) sessionId = sid;
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          errorText(res).then((problem) => resolve({ status, problem }));
          return;
        }
        if (status === 202 || status === 204) {
          res.resume();
          res.on("end", () => resolve({ status }));
          res.on("error", () => resolve({ status }));
          return;
        }
        readBody(res, onmessage).then(() => resolve({ status }));
      });
      req.end(body);
    });

  /** Initializes a new session with the stored initialize request (its answer is not forwarded). */
  const reinitialize = (): Promise<void> => {
    reinitializing ??= (async () => {
      sessionId = undefined;
      lastEventId = undefined; // event ids belong to the old session
      stopGetStream();
      const init = JSON.parse(initBody as string) as { id: Id };
      init.id = `warden-reinit-${Date.now()}`;
      let ok = false;
      const out = await post(JSON.stringify(init), (m) => {
        if ("id" in m && m.id === init.id && "result" in m) ok = true;
      });
      if (!ok || !sessionId) throw new Error(out.problem ?? "initialize was not answered");
      await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), () => {});
      startGetStream();
    })().finally(() => {
      reinitializing = undefined;
    });
    return reinitializing;
  };

  const failRequest = (message: JsonRpcMessage, problem: string) => {
    if ("id" in message && "method" in message) {
      deliver({
        jsonrpc: "2.0",
        id: message.id,
        error: { code: ErrorCodes.Downstream, message: `server '${name}' unreachable: ${problem}` },
      });
    }
  };

  const sendNow = async (message: JsonRpcMessage, body: string) => {
    if (reinitializing) await reinitializing.catch(() => {});
    const hadSession = sessionId;
    let out = await post(body, deliver);
    if (out.status === 404 && hadSession && initBody && !closed) {
      // The server forgot our session (restart, expiry): start a new one and try once more.
      try {
        if (sessionId === hadSession) await reinitialize();
        else if (reinitializing) await reinitializing;
      } catch (err) {
        failRequest(message, `session expired and re-initializing failed: ${(err as Error).message}`);
        lost(`server '${name}' session expired and could not be re-initialized`);
        return;
      }
      out = await post(body, deliver);
    }
    if (out.problem) failRequest(message, out.problem);
    else if (
      "method" in message &&
      message.method === "notifications/initialized" &&
      (out.status === 202 || out.status === 204)
    ) {
      startGetStream();
    }
  };

  const startGetStream = () => {
    if (closed || !getStreamSupported || getStream || !sessionId) return;
    const extra: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) extra["last-event-id"] = lastEventId;
    const req = lib.request(url, { method: "GET", agent, headers: headers(extra) });
    getStream = req;
    const again = (ms: number) => {
      if (getStream !== req) return;
      getStream = undefined;
      if (closed) return;
      getRetry = setTimeout(startGetStream, ms);
      getRetry.unref();
    };
    req.on("error", () => again(1000));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 400) {
        // 405: the server offers no standalone stream. Others: give up until the next session.
        res.resume();
        if (getStream === req) getStream = undefined;
        if (status === 405) getStreamSupported = false;
        return;
      }
      readBody(res, deliver, true).then(() => again(500));
    });
    req.end();
  };

  const stopGetStream = () => {
    if (getRetry) clearTimeout(getRetry);
    getRetry = undefined;
    const req = getStream;
    getStream = undefined;
    req?.destroy();
  };

  const lost = (reason: string) => {
    if (closed) return;
    closed = true;
    stopGetStream();
    agent.destroy();
    wire.onclose?.(reason);
  };

  const wire: Wire = {
    supportsRaw: true,
    send(message: JsonRpcMessage) {
      if (closed) return;
      const body = JSON.stringify(message);
      if ("method" in message && message.method === "initialize" && "id" in message) initBody = body;
      sendNow(message, body).catch((err: Error) => failRequest(message, err.message));
    },
    setProtocolVersion(v: string) {
      protocolVersion = v;
    },
    async close() {
      if (closed) return;
      closed = true;
      stopGetStream();
      if (sessionId) {
        await new Promise<void>((resolve) => {
          const req = lib.request(url, { method: "DELETE", agent, headers: headers({}) });
          req.setTimeout(2000, () => req.destroy());
          req.on("error", () => resolve());
          req.on("response", (res) => {
            res.resume();
            res.on("end", resolve);
            res.on("error", () => resolve());
          });
          req.end();
        });
      }
      agent.destroy();
    },
  };
  return wire;
}
