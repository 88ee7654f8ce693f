// A small HTTP/1.1 client for one origin, used for Streamable HTTP downstreams. node:http costs
// ~0.1 ms CPU per request on its own (ClientRequest, IncomingMessage, header objects, agent
// bookkeeping) and its writes split head and body; here a request is one write of prebuilt header
// text, and a response is parsed from the socket's chunks into status, a few headers and body
// bytes (de-chunked, never copied). Keep-alive sockets are reused last-in first-out; one request
// per socket at a time (no pipelining: a long SSE answer would block the answers queued behind it).
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface Http1Response {
  status: number;
  headers: ResponseHeaders;
}

export interface ExchangeHandlers {
  /** The status line and headers arrived (1xx interim answers are skipped). */
  onresponse(res: Http1Response): void;
  /** Body bytes, de-chunked; a subarray of the socket's chunk (copy it to keep it past the call). */
  ondata(chunk: Buffer): void;
  /** The exchange is over: the body is complete, or `error` says why it is not. Called once. */
  onend(error?: Error): void;
}

export interface Exchange {
  /** Stops reading this answer and closes its socket (an open SSE stream, say); onend gets an error. */
  abort(): void;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** Header lines (`name: value\r\n`...) for constant headers; throws on names or values that could split a request. */
export function headerLines(headers: Record<string, string>): string {
  let out = "";
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new Error(`invalid HTTP header name ${JSON.stringify(name)}`);
    if (BAD_VALUE.test(value)) throw new Error(`invalid value for HTTP header '${name}' (CR, LF or NUL)`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/**
 * A response's header lines, looked up on demand: a caller reads a handful of them, so none are
 * split into name and value strings up front. Names match case-insensitively (pass them in lower
 * case); a repeated header's values are joined with ", ". A lookup walks the header lines and
 * compares names in place: no lower-cased copy of the head and no search string per lookup
 * (five lookups per answer on the per-call path).
 */
export class ResponseHeaders {
  /** `text`: the response head without its blank line; `from`: where the status line ends (-1: no headers). */
  constructor(
    private readonly text: string,
    private readonly from: number,
  ) {}

  get(name: string): string | undefined {
    const { text } = this;
    let out: string | undefined;
    // `at` is the CRLF before a header line.
    for (let at = this.from; at !== -1; ) {
      const start = at + 2;
      const next = text.indexOf("\r\n", start);
      const end = next === -1 ? text.length : next;
      if (nameAt(text, start, end, name)) {
        let colon = start + name.length;
        while (text[colon] === " " || text[colon] === "\t") colon++; // tolerated before the colon
        if (colon < end && text.charCodeAt(colon) === 58 /* : */) {
          const value = text.slice(colon + 1, end).trim();
          out = out === undefined ? value : `${out}, ${value}`;
        }
      }
      at = next;
    }
    return out;
  }
}

/** True when `text[start..end)` begins with `name` (lower case), ASCII letters compared case-insensitively. */
function nameAt(text: string, start: number, end: number, name: string): boolean {
  if (end - start < name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The hex chunk size in `buf[from..to)` (a size line without its LF; a CR or `;extensions` may
 * follow the digits, as Number.parseInt reads them), or -2 when it starts with no digit or is
 * too long to read here (the string path then decides).
 */
function hexAt(buf: Buffer, from: number, to: number): number {
  let size = 0;
  let i = from;
  for (; i < to; i++) {
    const c = buf[i];
    const digit =
      c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (digit === -1) break;
    if (i - from >= 12) return -2;
    size = size * 16 + digit;
  }
  return i === from ? -2 : size;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/**
 * Bodies of this many characters or more are encoded into reused scratch buffers: writing a
 * 256 KB string (or Buffer.from of it) costs ~2.5 ms here, nearly all of it allocating fresh
 * memory, while encoding into memory already mapped costs ~15 µs (see batch-writer.ts).
 */
const SCRATCH_MIN = 16 * 1024;
const SCRATCH_KEEP = 4;
const SCRATCH_MAX = 16 * 1024 * 1024;
const MAX_HEAD = 64 * 1024;
/** The pool's read buffer: libuv's usual read size. */
const READ_BUFFER_BYTES = 64 * 1024;

/** A request body: a string, bytes, or pieces of bytes written one after the other. */
export type Body = string | Buffer | Buffer[];

/** One request: waiting for a socket, on one, or done. It is also the caller's Exchange handle. */
class Pending implements Exchange {
  /** Already retried once on a fresh socket after a reused one died before answering. */
  retried = false;
  conn?: Connection;
  done = false;

  constructor(
    private readonly pool: Http1Pool,
    readonly head: string,
    readonly body: Body | undefined,
    readonly handlers: ExchangeHandlers,
  ) {}

  abort(): void {
    if (this.done) return;
    if (this.conn) this.conn.abort(this);
    else {
      this.done = true;
      this.pool.unqueue(this);
      this.handlers.onend(new Error("aborted"));
    }
  }
}

/** One socket and the parser of the answer currently on it. */
class Connection {
  readonly socket: Socket;
  current?: Pending;
  /** Answers completed on this socket: a reused socket may have been closed by the server meanwhile. */
  served = 0;
  /** Date.now() when the socket last went idle (the pool's sweep closes long-idle sockets). */
  idleSince = 0;
  private gotBytes = false;
  private headParts: Buffer[] = [];
  private headLength = 0;
  private state: "head" | "fixed" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" | "close" =
    "head";
  private remaining = 0;
  private keepAlive = true;
  private sizeLine = "";
  private noBody = false;
  private lastError?: Error;

  /** `ownReads`: the socket hands its reads to `read` itself (Http1Pool.open's onread), no 'data' listener. */
  constructor(
    private readonly pool: Http1Pool,
    socket: Socket,
    ownReads = false,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    if (!ownReads) socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", (err) => {
      this.lastError = err; // 'close' follows and reports it
    });
    socket.on("close", () => this.closed());
    socket.on("end", () => socket.destroy());
  }

  start(p: Pending): void {
    this.current = p;
    p.conn = this;
    this.gotBytes = false;
    this.state = "head";
    this.headParts = [];
    this.headLength = 0;
    this.noBody = p.head.startsWith("HEAD ");
    const { socket } = this;
    socket.ref();
    if (p.body === undefined) socket.write(p.head);
    else if (typeof p.body === "string" && p.body.length < SCRATCH_MIN) socket.write(p.head + p.body);
    else {
      socket.cork();
      socket.write(p.head);
      if (typeof p.body === "string") this.pool.writeLargeString(socket, p.body);
      else if (Array.isArray(p.body)) for (const piece of p.body) socket.write(piece);
      else socket.write(p.body);
      socket.uncork();
    }
  }

  /** @internal Bytes from the socket (the Connection owns `chunk`: it may keep views of it). */
  read(chunk: Buffer): void {
    const p = this.current;
    if (!p) {
      this.socket.destroy(); // bytes nobody asked for: the socket is out of step
      return;
    }
    this.gotBytes = true;
    let at = 0;
    while (at < chunk.length && this.current === p) {
      switch (this.state) {
        case "head":
          at = this.readHead(chunk, at);
          if (at < 0) return;
          break;
        case "fixed": {
          const n = Math.min(this.remaining, chunk.length - at);
          p.handlers.ondata(chunk.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case "close":
          p.handlers.ondata(at === 0 ? chunk : chunk.subarray(at));
          at = chunk.length;
          break;
        case "chunk-size": {
          const nl = chunk.indexOf(10, at);
          // The usual size line sits whole in one chunk: read its hex digits in place.
          let size = this.sizeLine === "" && nl !== -1 ? hexAt(chunk, at, nl) : -2;
          if (size === -2) {
            this.sizeLine += chunk.toString("latin1", at, nl === -1 ? chunk.length : nl);
            if (nl === -1) return;
            size = Number.parseInt(this.sizeLine, 16);
            this.sizeLine = "";
          }
          at = nl + 1;
          if (!Number.isFinite(size) || size < 0) {
            this.fail(new Error("malformed chunked encoding"));
            return;
          }
          if (size === 0) this.state = "trailers";
          else {
            this.remaining = size;
            this.state = "chunk-data";
          }
          break;
        }
        case "chunk-data": {
          const n = Math.min(this.remaining, chunk.length - at);
          p.handlers.ondata(chunk.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = "chunk-crlf";
          break;
        }
        case "chunk-crlf": {
          const nl = chunk.indexOf(10, at);
          if (nl === -1) return;
          at = nl + 1;
          this.state = "chunk-size";
          break;
        }
        case "trailers": {
          // Trailer lines end with an empty line; we read none of them.
          const nl = chunk.indexOf(10, at);
          if (this.sizeLine === "" && (nl === at || (nl === at + 1 && chunk[at] === 13))) {
            at = nl + 1;
            this.finish();
            break;
          }
          const line = this.sizeLine + chunk.toString("latin1", at, nl === -1 ? chunk.length : nl);
          if (nl === -1) {
            this.sizeLine = line;
            return;
          }
          this.sizeLine = "";
          at = nl + 1;
          if (line === "" || line === "\r") this.finish();
          break;
        }
      }
    }
    if (at < chunk.length && this.current !== p) this.socket.destroy(); // extra bytes after an answer
  }

  /** Consumes header bytes from `chunk` at `at`; returns where the body starts, or -1 (need more / failed). */
  private readHead(chunk: Buffer, at: number): number {
    const part = at === 0 ? chunk : chunk.subarray(at);
    // The terminator may straddle chunks: search the joined tail.
    const joined = this.headLength ? Buffer.concat([...this.headParts, part]) : part;
    const end = joined.indexOf(CRLFCRLF, Math.max(0, this.headLength - 3));
    if (end === -1) {
      if (joined.length > MAX_HEAD) this.fail(new Error("response headers too large"));
      else {
        this.headParts = [joined];
        this.headLength = joined.length;
      }
      return -1;
    }
    const consumedFromPart = end + 4 - this.headLength;
    this.headParts = [];
    this.headLength = 0;
    const text = joined.toString("latin1", 0, end);
    const firstEnd = text.indexOf("\r\n");
    const statusLine = firstEnd === -1 ? text : text.slice(0, firstEnd);
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith("HTTP/1.") || !(status >= 100 && status < 600)) {
      this.fail(new Error(`malformed HTTP status line: ${statusLine.slice(0, 80)}`));
      return -1;
    }
    const headers = new ResponseHeaders(text, firstEnd);
    const next = at + consumedFromPart;
    if (status < 200) return next; // interim answer (100 Continue ...): the real one follows
    const connection = headers.get("connection");
    this.keepAlive = connection === undefined || !/\bclose\b/i.test(connection);
    const p = this.current as Pending;
    p.handlers.onresponse({ status, headers });
    if (this.current !== p) return -1; // aborted in onresponse
    const te = headers.get("transfer-encoding");
    const length = headers.get("content-length");
    if (this.noBody || status === 204 || status === 304) {
      this.finish();
    } else if (te !== undefined && (te === "chunked" || /chunked/i.test(te))) {
      this.state = "chunk-size";
      this.sizeLine = "";
    } else if (length !== undefined) {
      this.remaining = Number(length);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) {
        this.fail(new Error("malformed content-length"));
        return -1;
      }
      this.state = "fixed";
      if (this.remaining === 0) this.finish();
    } else {
      this.state = "close"; // body runs until the server closes the socket
      this.keepAlive = false;
    }
    return next;
  }

  private finish(): void {
    const p = this.current;
    this.current = undefined;
    this.served++;
    if (p && !p.done) {
      p.done = true;
      p.handlers.onend();
    }
    if (this.keepAlive && !this.socket.destroyed) this.pool.release(this);
    else this.socket.destroy();
  }

  private fail(error: Error): void {
    const p = this.current;
    this.current = undefined;
    this.socket.destroy();
    if (p && !p.done) {
      p.done = true;
      p.handlers.onend(error);
    }
  }

  abort(p: Pending): void {
    if (this.current !== p) return;
    this.current = undefined;
    this.socket.destroy();
    if (!p.done) {
      p.done = true;
      p.handlers.onend(new Error("aborted"));
    }
  }

  private closed(): void {
    this.pool.forget(this);
    const p = this.current;
    if (!p || p.done) return;
    this.current = undefined;
    if (this.state === "close") {
      p.done = true;
      p.handlers.onend();
      return;
    }
    // A kept-alive socket the server closed just as we reused it: the request was never read.
    if (!this.gotBytes && this.served > 0 && !p.retried) {
      p.retried = true;
      p.conn = undefined;
      this.pool.dispatch(p);
      return;
    }
    p.done = true;
    const why = this.lastError?.message ?? "connection closed";
    p.handlers.onend(new Error(this.gotBytes ? `${why} mid-answer` : why));
  }
}

export interface Http1PoolOptions {
  /** Sockets open at once (in use + idle); more requests wait. */
  maxSockets?: number;
  /** Idle sockets are closed after this long (the server usually closes them first). */
  idleMs?: number;
}

/** Keep-alive sockets to one http(s) origin. */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Pending[] = [];
  private readonly maxSockets: number;
  private readonly idleMs: number;
  private readonly hostHeader: string;
  private closed = false;
  private sweep?: NodeJS.Timeout;

  constructor(
    private readonly url: URL,
    opts: Http1PoolOptions = {},
  ) {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`unsupported URL scheme ${url.protocol}`);
    this.maxSockets = opts.maxSockets ?? 256;
    this.idleMs = opts.idleMs ?? 30_000;
    this.hostHeader = url.host;
  }

  /** The request line and Host header for `method` on this pool's path (plus the URL's query). */
  requestLine(method: string): string {
    return `${method} ${this.url.pathname}${this.url.search} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
  }

  /**
   * Sends one request. `head` is the complete head (request line, headers, blank line) built by the
   * caller from requestLine() and headerLines(); `body` is written right after it.
   */
  request(head: string, body: Body | undefined, handlers: ExchangeHandlers): Exchange {
    const p = new Pending(this, head, body, handlers);
    if (this.closed) {
      p.done = true;
      queueMicrotask(() => handlers.onend(new Error("client closed")));
    } else this.dispatch(p);
    return p;
  }

  /** @internal A request aborted while it waited for a socket. */
  unqueue(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** @internal */
  dispatch(p: Pending): void {
    const conn = this.idle.pop();
    if (conn) conn.start(p);
    else if (this.all.size >= this.maxSockets) this.queue.push(p);
    else this.open().start(p);
  }

  private open(): Connection {
    const port = Number(this.url.port) || (this.url.protocol === "https:" ? 443 : 80);
    const host = this.url.hostname.replace(/^\[|\]$/g, "");
    let conn: Connection;
    if (this.url.protocol === "https:") {
      // SNI carries host names only (RFC 6066); certificates are verified (Node's default).
      const socket = tlsConnect({
        host,
        port,
        servername: isIP(host) ? undefined : host,
        ALPNProtocols: ["http/1.1"],
      });
      conn = new Connection(this, socket);
    } else {
      // Plain TCP reads land in the pool's read buffer and are copied out (a pooled slice for
      // small answers) straight to the parser: no Buffer made by the stream layer per read and
      // no readable-stream push/'data' event per answer.
      this.readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      const socket = netConnect({
        host,
        port,
        onread: {
          buffer: this.readBuffer,
          callback: (n: number, buf: Uint8Array) => {
            const chunk = Buffer.allocUnsafe(n);
            chunk.set(buf.subarray(0, n));
            conn.read(chunk);
            return true; // keep reading
          },
        },
      });
      conn = new Connection(this, socket, true);
    }
    this.all.add(conn);
    return conn;
  }

  private readonly scratch: Buffer[] = [];
  /** Where plain sockets' reads land (each is copied out at once, so one buffer serves every socket). */
  private readBuffer?: Buffer;

  /** @internal Writes a large string body through a scratch buffer, reused once written. */
  writeLargeString(socket: Socket, body: string): void {
    const need = Buffer.byteLength(body);
    const i = this.scratch.findIndex((b) => b.length >= need);
    if (i === -1 && need > SCRATCH_MAX) {
      socket.write(body);
      return;
    }
    const buf =
      i === -1
        ? Buffer.allocUnsafeSlow(Math.max(SCRATCH_MIN * 4, 2 ** Math.ceil(Math.log2(need))))
        : this.scratch.splice(i, 1)[0];
    const n = buf.write(body);
    socket.write(buf.subarray(0, n), () => {
      if (this.scratch.length < SCRATCH_KEEP) this.scratch.push(buf);
    });
  }

  /** @internal A socket finished an answer and may take the next request. */
  release(conn: Connection): void {
    const next = this.queue.shift();
    if (next) {
      conn.start(next);
      return;
    }
    if (this.closed) {
      conn.socket.destroy();
      return;
    }
    this.idle.push(conn);
    conn.idleSince = Date.now();
    conn.socket.unref();
    this.ensureSweep();
  }

  /** @internal */
  forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A slot freed up: a waiting request gets a new socket.
    const next = this.queue.shift();
    if (next && !this.closed) this.dispatch(next);
  }

  private ensureSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      const cutoff = Date.now() - this.idleMs;
      for (const c of [...this.idle]) if (c.idleSince < cutoff) c.socket.destroy();
      if (this.idle.length === 0) {
        clearInterval(this.sweep);
        this.sweep = undefined;
      }
    }, this.idleMs);
    this.sweep.unref();
  }

  /** Closes every socket; requests in flight end with an error. */
  close(): void {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    for (const p of this.queue.splice(0)) {
      p.done = true;
      p.handlers.onend(new Error("client closed"));
    }
    for (const c of [...this.all]) c.socket.destroy();
  }
}
