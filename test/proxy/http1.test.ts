// The small HTTP/1.1 client (src/upstream/http1.ts) against real sockets on 127.0.0.1: raw TCP
// servers that answer with hand-made bytes (chunked bodies cut at every byte, fixed lengths,
// close-delimited bodies, interim 100 answers, a kept-alive socket closed by the server), a
// node:http server for keep-alive reuse and an https server with a self-signed certificate
// (made with the openssl command, which .ci/run installs).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Http1Pool, type Http1Response, headerLines, ResponseHeaders } from "../../src/upstream/http1.js";

const servers: Array<{ close(): void }> = [];
const pools: Http1Pool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
  for (const s of servers.splice(0)) s.close();
});

/** A TCP server; `answer` gets each connection and the bytes of each request head it sees. */
async function rawServer(answer: (socket: Socket, request: string, n: number) => void): Promise<URL> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let seen = "";
    socket.on("data", (d) => {
      seen += d.toString("latin1");
      const end = seen.indexOf("\r\n\r\n");
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(seen)?.[1] ?? 0);
      if (seen.length < end + 4 + length) return;
      const request = seen.slice(0, end + 4 + length);
      seen = seen.slice(end + 4 + length);
      answer(socket, request, ++n);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push({
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?x=1`);
}

function exchange(pool: Http1Pool, head: string, body?: string) {
  return new Promise<{ res?: Http1Response; body: string; error?: Error }>((resolve) => {
    let res: Http1Response | undefined;
    const parts: Buffer[] = [];
    pool.request(head, body, {
      onresponse: (r) => {
        res = r;
      },
      ondata: (c) => parts.push(Buffer.from(c)),
      onend: (error) => resolve({ res, body: Buffer.concat(parts).toString("utf8"), error }),
    });
  });
}

const post = (pool: Http1Pool, body: string) =>
  exchange(pool, `${pool.requestLine("POST")}content-length: ${Buffer.byteLength(body)}\r\n\r\n`, body);

describe("Http1Pool", () => {
  it("sends one request line with path, query and Host, and reads a fixed-length body", async () => {
    let request = "";
    const url = await rawServer((s, req) => {
      request = req;
      s.write(
        'HTTP/1.1 200 OK\r\nContent-Type-X: no\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a:2 \r\nX-B : b\r\nContent-Length: 7\r\n\r\n{"a":1}',
      );
    });
    const pool = new Http1Pool(url);
    pools.push(pool);
    const out = await post(pool, "héllo");
    const expected = `POST /mcp?x=1 HTTP/1.1\r\nhost: ${url.host}\r\ncontent-length: 6\r\n\r\nhéllo`;
    expect(request).toBe(Buffer.from(expected).toString("latin1")); // the server reads bytes as latin1
    expect(out.res?.status).toBe(200);
    expect(out.res?.headers.get("content-type")).toBe("application/json");
    expect(out.res?.headers.get("x-a")).toBe("1, 2"); // any case; repeats joined; values trimmed
    expect(out.res?.headers.get("x-b")).toBe("b");
    expect(out.res?.headers.get("x")).toBeUndefined();
    expect(out.body).toBe('{"a":1}');
    expect(out.error).toBeUndefined();
  });

  it("decodes chunked bodies delivered one byte at a time, skipping an interim 100 answer and trailers", async () => {
    const wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n7\r\n wörld\r\n0\r\nX-Trailer: t\r\n\r\n";
    const url = await rawServer((s, _req, n) => {
      const bytes = Buffer.from(n === 1 ? wire : "HTTP/1.1 204 No Content\r\n\r\n");
      let i = 0;
      const next = () => {
        if (i < bytes.length) s.write(bytes.subarray(i, ++i), next);
      };
      next();
    });
    const pool = new Http1Pool(url);
    pools.push(pool);
    const out = await post(pool, "{}");
    expect(out.res?.status).toBe(200);
    expect(out.body).toBe("hello wörld");
    // The socket stayed usable after the trailers: the next answer comes on it.
    const second = await post(pool, "{}");
    expect(second.res?.status).toBe(204);
    expect(second.body).toBe("");
  });

  it("reads a body that runs until the server closes, and reports a close mid-answer as an error", async () => {
    const url = await rawServer((s, _req, n) => {
      if (n === 1) s.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close");
      else s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    });
    const pool = new Http1Pool(url);
    pools.push(pool);
    const first = await post(pool, "{}");
    expect(first.body).toBe("until close");
    expect(first.error).toBeUndefined();
    const second = await post(pool, "{}");
    expect(second.body).toBe("short");
    expect(second.error?.message).toMatch(/mid-answer/);
  });

  it("reuses kept-alive sockets and sends a request again when the server closed an idle one", async () => {
    const connections = new Set<unknown>();
    let requests = 0;
    const http = createHttpServer((req, res) => {
      connections.add(req.socket);
      requests++;
      req.resume();
      req.on("end", () => res.end(`answer ${requests}`));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    servers.push({ close: () => http.close() });
    const pool = new Http1Pool(new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`));
    pools.push(pool);
    for (let i = 1; i <= 5; i++) expect((await post(pool, "{}")).body).toBe(`answer ${i}`);
    expect(connections.size).toBe(1);
    const parallel = await Promise.all(Array.from({ length: 4 }, () => post(pool, "{}")));
    expect(parallel.every((p) => p.res?.status === 200)).toBe(true);
    expect(connections.size).toBe(4);
    http.closeIdleConnections(); // the server drops every idle kept-alive socket
    const after = await post(pool, "{}");
    expect(after.error).toBeUndefined();
    expect(after.body).toMatch(/^answer \d+$/);
  });

  it("reports a refused connection with the socket's error", async () => {
    const url = await rawServer(() => {});
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    const pool = new Http1Pool(url);
    pools.push(pool);
    const out = await post(pool, "{}");
    expect(out.res).toBeUndefined();
    expect(out.error?.message).toMatch(/ECONNREFUSED/);
  });

  it("speaks TLS to https URLs and refuses a certificate nobody vouches for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "http1-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const server = createHttpsServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (_req, res) => res.end("secret"),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push({ close: () => server.close() });
    rmSync(dir, { recursive: true, force: true });
    const pool = new Http1Pool(new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`));
    pools.push(pool);
    const out = await post(pool, "{}");
    expect(out.res).toBeUndefined();
    expect(out.error?.message).toMatch(/self[- ]signed/i);
  });

  it("decodes chunked bodies that arrive whole (sizes in either case, extensions, trailers) and refuses a bad size", async () => {
    const big = "x".repeat(0x1a);
    const wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `5;ext=1\r\nhello\r\n1A\r\n${big}\r\n1a\r\n${big}\r\n0\r\nX-Trailer: t\r\n\r\n`;
    const url = await rawServer((s, _req, n) => {
      s.write(
        n === 1 ? wire : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      );
    });
    const pool = new Http1Pool(url);
    pools.push(pool);
    const out = await post(pool, "{}");
    expect(out.body).toBe(`hello${big}${big}`);
    expect(out.error).toBeUndefined();
    expect((await post(pool, "{}")).error?.message).toMatch(/malformed chunked encoding/);
  });

  it("fails malformed answers instead of guessing", async () => {
    const url = await rawServer((s) => s.write("SSH-2.0-OpenSSH\r\n\r\n"));
    const pool = new Http1Pool(url);
    pools.push(pool);
    expect((await post(pool, "{}")).error?.message).toMatch(/malformed HTTP status line/);
  });
});

describe("ResponseHeaders", () => {
  it("finds headers case-insensitively, joins repeated ones and ignores near-misses", () => {
    const head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Content-Type-Options: nosniff\r\n" +
      "content-typeX: no\r\nSet-Cookie: a=1\r\nMCP-Session-Id:  abc \r\nset-cookie:b=2\r\n" +
      "Transfer-Encoding : chunked\r\nno-colon\r\nContent-Length";
    const h = new ResponseHeaders(head, head.indexOf("\r\n"));
    expect(h.get("content-type")).toBe("text/event-stream");
    expect(h.get("mcp-session-id")).toBe("abc");
    expect(h.get("set-cookie")).toBe("a=1, b=2");
    expect(h.get("transfer-encoding")).toBe("chunked"); // whitespace before the colon is tolerated
    expect(h.get("content-length")).toBeUndefined(); // a name without a colon is no header
    expect(h.get("no-colon")).toBeUndefined();
    expect(h.get("connection")).toBeUndefined();
    expect(h.get("http/1.1 200 ok")).toBeUndefined(); // the status line is not a header
    const bare = "HTTP/1.1 204 No Content";
    expect(new ResponseHeaders(bare, -1).get("content-type")).toBeUndefined();
  });
});

describe("headerLines", () => {
  it("formats headers and refuses names or values that could split a request", () => {
    expect(headerLines({ authorization: "Bearer x", "x-a": "b" })).toBe(
      "authorization: Bearer x\r\nx-a: b\r\n",
    );
    expect(() => headerLines({ "x-a": "b\r\nx-evil: 1" })).toThrow(/invalid value for HTTP header 'x-a'/);
    expect(() => headerLines({ "bad name": "v" })).toThrow(/invalid HTTP header name/);
  });
});
