// SEP-2243 Mcp-Param-* headers on the 2026-07-28 revision: the rules (which declarations count,
// value encoding, the header/body comparison) and warden's check of a tools/call over real HTTP,
// with the v2 SDK client (which mirrors the declared arguments) and raw requests for the rejections.
// Downstream: the echo fixture with its `route` tool, whose arguments declare x-mcp-header.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Subject } from "../../src/pipeline/types.js";
import type { HttpFrontDoor } from "../../src/server/http.js";
import {
  buildParamHeaders,
  decodeParamValue,
  encodeParamValue,
  paramDeclarations,
  paramHeaderProblem,
} from "../../src/server/param-headers.js";
import type { Warden } from "../../src/server/warden.js";
import { fixture, makeWarden, textOf } from "./helpers.js";

const V = "2026-07-28";

describe("x-mcp-header declarations and Mcp-Param values", () => {
  it("collects declarations on properties chains, at any depth", () => {
    const decls = paramDeclarations({
      type: "object",
      properties: {
        region: { type: "string", "x-mcp-header": "Region" },
        n: { type: "integer", "x-mcp-header": "N" },
        deep: { type: "object", properties: { flag: { type: "boolean", "x-mcp-header": "Flag" } } },
        plain: { type: "string" },
      },
    });
    expect(decls).toEqual([
      { path: ["region"], headerName: "Region", type: "string" },
      { path: ["n"], headerName: "N", type: "integer" },
      { path: ["deep", "flag"], headerName: "Flag", type: "boolean" },
    ]);
  });

  it("treats a schema with a misplaced, malformed or duplicate declaration as declaring nothing", () => {
    const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      type: "object",
      properties,
      ...extra,
    });
    const ok = { type: "string", "x-mcp-header": "Ok" };
    for (const bad of [
      obj({ ok, a: { type: "object", "x-mcp-header": "A" } }), // not a primitive
      obj({ ok, a: { type: "string", "x-mcp-header": "Has Space" } }), // not a token
      obj({ ok, a: { type: "string", "x-mcp-header": "" } }),
      obj({ ok, a: { type: "string", "x-mcp-header": "ok" } }), // case-insensitive duplicate
      obj({ ok }, { items: { properties: { b: { type: "string", "x-mcp-header": "B" } } } }),
      obj({ ok }, { anyOf: [{ properties: { b: { type: "string", "x-mcp-header": "B" } } }] }),
      obj({ ok }, { $defs: { d: { type: "string", "x-mcp-header": "D" } } }),
      { type: "string", "x-mcp-header": "Root" },
    ]) {
      expect(paramDeclarations(bad)).toEqual([]);
    }
    // `number` is not permitted, but a server still checks what such a tool declares (as the SDK does).
    expect(paramDeclarations(obj({ x: { type: "number", "x-mcp-header": "X" } }))).toHaveLength(1);
  });

  it("encodes values that are not plain visible ASCII as =?base64?...?= and decodes them back", () => {
    expect(encodeParamValue("eu-west-1")).toBe("eu-west-1");
    for (const s of ["Zürich ☃", " padded", "", "=?base64?abc?=", "line\nbreak"]) {
      const enc = encodeParamValue(s);
      expect(enc).toMatch(/^=\?base64\?[A-Za-z0-9+/=]*\?=$/);
      expect(decodeParamValue(enc)).toBe(s);
    }
    expect(decodeParamValue("=?base64?not base64?=")).toBeUndefined();
    expect(decodeParamValue("=?base64?/w==?=")).toBeUndefined(); // 0xFF is not UTF-8
  });

  it("compares headers with arguments: missing, different, numeric equality, absent arguments", () => {
    const decls = paramDeclarations({
      type: "object",
      properties: {
        region: { type: "string", "x-mcp-header": "Region" },
        n: { type: "integer", "x-mcp-header": "N" },
      },
    });
    const args = { region: "Zürich", n: 42 };
    const headers = Object.fromEntries(
      Object.entries(buildParamHeaders(decls, args)).map(([k, v]) => [k.toLowerCase(), v]),
    );
    expect(headers).toEqual({ "mcp-param-region": "=?base64?WsO8cmljaA==?=", "mcp-param-n": "42" });
    expect(paramHeaderProblem(decls, args, headers)).toBeUndefined();
    expect(paramHeaderProblem(decls, args, { ...headers, "mcp-param-n": " 42.0 " })).toBeUndefined();
    expect(paramHeaderProblem(decls, args, { "mcp-param-n": "42" })).toMatchObject({
      header: "Mcp-Param-Region",
    });
    expect(paramHeaderProblem(decls, args, { ...headers, "mcp-param-n": "43" })?.message).toBe(
      'the Mcp-Param-N header decodes to "43" but the body carries n=42',
    );
    // No value in the body: no header is expected, and one that is sent anyway is ignored.
    expect(paramHeaderProblem(decls, { region: null }, { "mcp-param-n": "7" })).toBeUndefined();
  });
});

async function authenticate(req: {
  headers: Record<string, string | string[] | undefined>;
}): Promise<Subject> {
  const h = req.headers.authorization;
  return {
    user: typeof h === "string" ? h.slice(7) : "anon",
    tenant: "t",
    roles: [],
    scopes: [],
    authMethod: "api_key",
  };
}

type Answer = {
  id: number;
  result?: Record<string, unknown> & { content?: Array<{ text: string }> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

describe("Mcp-Param-* headers through warden (2026-07-28 over HTTP)", () => {
  let warden: Warden;
  let door: HttpFrontDoor;
  beforeAll(async () => {
    warden = await makeWarden({
      servers: { fx: fixture("fx", {}, { FIXTURE_ROUTE_TOOL: "1" }) },
      registry: { servers: { fx: { tools: ["echo", "route"] } } },
    });
    door = await warden.listenHttp({ port: 0, authenticate });
  });
  afterAll(async () => {
    await door.close();
    await warden.close();
  });

  /** A tools/call with the standard headers a conforming client sends, plus `extra`. */
  const call = async (
    id: number,
    name: string,
    args: Record<string, unknown>,
    extra: Record<string, string> = {},
    params: Record<string, unknown> = {},
    caps: Record<string, unknown> = {},
  ) => {
    const res = await fetch(`${door.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: "Bearer eve",
        "mcp-protocol-version": V,
        "mcp-method": "tools/call",
        "mcp-name": name,
        ...extra,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name,
          arguments: args,
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": V,
            "io.modelcontextprotocol/clientCapabilities": caps,
          },
        },
      }),
    });
    return { status: res.status, body: (await res.json()) as Answer };
  };

  // First in the file's order: no tools/list has been read yet, so warden loads the definition.
  it("checks a call before any tools/list (loads the tool's definition once)", async () => {
    const bad = await call(1, "fx__route", { region: "eu" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: -32020,
      message:
        'Bad Request: the request headers and body disagree: the body carries region="eu" but the Mcp-Param-Region header is absent',
      data: { mismatch: { header: "Mcp-Param-Region" } },
    });
    const good = await call(2, "fx__route", { region: "eu" }, { "mcp-param-region": "eu" });
    expect(good.status).toBe(200);
    expect(good.body.result?.content?.[0].text).toBe('route {"region":"eu"}');
  });

  it("works with the v2 client, which mirrors the declared arguments (non-ASCII in base64)", async () => {
    const sent: Array<Record<string, string>> = [];
    const client = new Client({ name: "v2", version: "1" }, { versionNegotiation: { mode: { pin: V } } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), {
        requestInit: { headers: { authorization: "Bearer ann" } },
        fetch: (url, init) => {
          sent.push(Object.fromEntries(new Headers(init?.headers).entries()));
          return fetch(url, init);
        },
      }),
    );
    try {
      const tools = (await client.listTools()).tools;
      expect(tools.map((t) => t.name).sort()).toEqual(["fx__echo", "fx__route"]);
      const args = { region: "Zürich ☃", count: 3, urgent: true, target: { zone: " a " } };
      const result = await client.callTool({ name: "fx__route", arguments: args });
      expect(textOf(result)).toBe(`route ${JSON.stringify(args)}`);
      const headers = sent.at(-1) ?? {};
      expect(headers["mcp-param-region"]).toBe(encodeParamValue("Zürich ☃"));
      expect(headers["mcp-param-region"]).toMatch(/^=\?base64\?/);
      expect(headers["mcp-param-count"]).toBe("3");
      expect(headers["mcp-param-urgent"]).toBe("true");
      expect(decodeParamValue(headers["mcp-param-zone"])).toBe(" a ");
      // A tool that declares nothing gets no Mcp-Param headers and no check.
      expect(textOf(await client.callTool({ name: "fx__echo", arguments: { text: "hi" } }))).toBe("fx: hi");
    } finally {
      await client.close();
    }
  });

  it("rejects a mismatched or badly encoded header with 400 / -32020 and never forwards the call", async () => {
    const mismatch = await call(
      3,
      "fx__route",
      { region: "eu", count: 2 },
      { "mcp-param-region": "eu", "mcp-param-count": "3" },
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toMatchObject({
      code: -32020,
      data: { mismatch: { header: "Mcp-Param-Count" } },
    });
    const numeric = await call(4, "fx__route", { count: 2 }, { "mcp-param-count": "2.0" });
    expect(numeric.status).toBe(200);
    const nested = await call(5, "fx__route", { target: { zone: "z1" } }, { "mcp-param-zone": "z2" });
    expect(nested.body.error?.code).toBe(-32020);
    const encoded = await call(6, "fx__route", { region: "eu" }, { "mcp-param-region": "=?base64?%%%?=" });
    expect(encoded.status).toBe(400);
    expect(encoded.body.error?.message).toContain("invalid Base64 sentinel value");
    const unicode = await call(
      7,
      "fx__route",
      { region: "Zürich" },
      { "mcp-param-region": encodeParamValue("Zürich") },
    );
    expect(unicode.body.result?.content?.[0].text).toBe('route {"region":"Zürich"}');
  });

  it("checks the retry of a multi-round-trip call too; a bad retry leaves the call waiting", async () => {
    const args = { region: "eu", confirm: true };
    const region = { "mcp-param-region": "eu" };
    const caps = { elicitation: {} };
    const first = await call(10, "fx__route", args, region, {}, caps);
    expect(first.body.result?.resultType).toBe("input_required");
    const [key] = Object.keys(first.body.result?.inputRequests as object);
    const retry = {
      inputResponses: { [key]: { action: "accept", content: {} } },
      requestState: first.body.result?.requestState,
    };
    const bad = await call(11, "fx__route", args, { "mcp-param-region": "us" }, retry, caps);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: -32020,
      data: { mismatch: { header: "Mcp-Param-Region" } },
    });
    const good = await call(12, "fx__route", args, region, retry, caps);
    expect(good.status).toBe(200);
    expect(good.body.result?.content?.[0].text).toBe(`route accept ${JSON.stringify(args)}`);
  });

  it("leaves unknown and hidden tools to the usual refusal, whatever the headers say", async () => {
    // Not in the registry: the registry stage refuses it before any header is looked at.
    const hidden = await call(8, "fx__secret_tool", { region: "eu" });
    const unknown = await call(9, "fx__nope", { region: "eu" }, { "mcp-param-region": "x" });
    for (const r of [hidden, unknown]) {
      expect(r.status).toBe(200);
      expect(r.body.error?.code).toBe(-32602);
      expect(r.body.error?.message).toMatch(/not exposed/);
    }
  });
});
