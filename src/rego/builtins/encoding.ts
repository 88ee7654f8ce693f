// Encodings: json.*, yaml.*, base64/base64url, hex, urlquery.*, uri.*.

import { parseDocument, YAMLParseError, stringify as yamlStringify } from "yaml";
import { formatNumber, fromJS, fromJSONText, RObject, RSet, toJS, typeName, type Value } from "../value.js";
import { builtinErr, elems, obj, str, typeErr } from "./args.js";
import { registerBuiltin } from "./types.js";

const reg = (name: string, arity: number, impl: (a: Value[]) => Value | undefined) =>
  registerBuiltin(name, impl, { arity });

// ---- JSON -----------------------------------------------------------------------------

/** Go's encoding/json string escaping (HTML-safe: <, > and & are escaped). */
function goJSONString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += ch + s[i + 1];
        i++;
      } else out += "\\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) out += "\\ufffd";
    else out += ch;
  }
  return `${out}"`;
}

/** json.Marshal / json.MarshalIndent over the JSON view of a value. */
export function goJSON(v: Value, prefix = "", indent: string | undefined = undefined, depth = 0): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
    case "bigint":
      return formatNumber(v);
    case "string":
      return goJSONString(v);
  }
  const nl = (d: number) => (indent === undefined ? "" : `\n${prefix}${indent.repeat(d)}`);
  const colon = indent === undefined ? ":" : ": ";
  let items: string[];
  let open: string;
  let close: string;
  if (Array.isArray(v) || v instanceof RSet) {
    const xs = Array.isArray(v) ? v : v.sortedElems();
    items = xs.map((x) => goJSON(x, prefix, indent, depth + 1));
    open = "[";
    close = "]";
  } else {
    const o = v as RObject;
    const keyed = o.keys().map((k) => [typeof k === "string" ? k : goJSON(k), o.get(k) as Value] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    items = keyed.map(([k, x]) => goJSONString(k) + colon + goJSON(x, prefix, indent, depth + 1));
    open = "{";
    close = "}";
  }
  if (items.length === 0) return open + close;
  return open + items.map((s) => nl(depth + 1) + s).join(",") + nl(depth) + close;
}

reg("json.marshal", 1, ([v]) => goJSON(v));

reg("json.marshal_with_options", 2, ([v, o]) => {
  const opts = obj("json.marshal_with_options", 2, o);
  let pretty: boolean | undefined;
  let prefix: string | undefined;
  let indent: string | undefined;
  let keyIndex = -1;
  for (const k of opts.sortedKeys()) {
    const x = opts.get(k) as Value;
    keyIndex++;
    switch (k) {
      case "pretty":
        if (typeof x !== "boolean")
          throw typeErr("json.marshal_with_options", "operand 2 key pretty failed cast to bool");
        pretty = x;
        break;
      case "prefix":
        if (typeof x !== "string")
          throw typeErr(
            "json.marshal_with_options",
            `operand 2 key prefix failed cast to string: operand ${keyIndex} must be string but got ${typeName(x)}`,
          );
        prefix = x;
        break;
      case "indent":
        if (typeof x !== "string")
          throw typeErr(
            "json.marshal_with_options",
            `operand 2 key indent failed cast to string: operand ${keyIndex} must be string but got ${typeName(x)}`,
          );
        indent = x;
        break;
      default:
        throw typeErr(
          "json.marshal_with_options",
          `operand 2 object contained unknown key ${typeof k === "string" ? JSON.stringify(k) : goJSON(k)}`,
        );
    }
  }
  const isPretty = pretty ?? (prefix !== undefined || indent !== undefined);
  if (!isPretty) return goJSON(v);
  const pf = prefix ?? "";
  return pf + goJSON(v, pf, indent ?? "\t");
});

/** Go's encoding/json wording for the common syntax errors. */
function goJSONError(text: string, e: Error): string {
  if (/end of JSON input|Unterminated|Unexpected end/i.test(e.message) || text.trim() === "") {
    return "unexpected end of JSON input";
  }
  const m = /position (\d+)/.exec(e.message);
  const pos = m ? Number(m[1]) : text.search(/\S/);
  if (pos < 0 || pos >= text.length) return "unexpected end of JSON input";
  return `invalid character '${text[pos]}' looking for beginning of value`;
}

reg("json.unmarshal", 1, ([s]) => {
  const text = str("json.unmarshal", 1, s);
  try {
    return fromJSONText(text);
  } catch (e) {
    throw builtinErr("json.unmarshal", goJSONError(text, e as Error));
  }
});

reg("json.is_valid", 1, ([s]) => {
  if (typeof s !== "string") return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
});

// ---- YAML -----------------------------------------------------------------------------

function parseYAML(name: string, text: string): Value {
  const doc = parseDocument(text, { version: "1.1", intAsBigInt: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e instanceof YAMLParseError && e.linePos ? e.linePos[0].line : 1;
    const what =
      e.code === "MISSING_CHAR" || /flow (sequence|collection)/i.test(e.message)
        ? "did not find expected ',' or ']'"
        : e.message.split("\n")[0];
    throw builtinErr(name, `yaml: line ${line}: ${what}`);
  }
  return fromJS(doc.toJS({ mapAsMap: false }));
}

reg("yaml.unmarshal", 1, ([s]) => parseYAML("yaml.unmarshal", str("yaml.unmarshal", 1, s)));
reg("yaml.is_valid", 1, ([s]) => {
  if (typeof s !== "string") return false;
  try {
    parseYAML("yaml.is_valid", s);
    return true;
  } catch {
    return false;
  }
});
// go-yaml v2 style: sequences not indented under their key, no line folding.
reg("yaml.marshal", 1, ([v]) => yamlStringify(toJS(v), { version: "1.1", lineWidth: 0, indentSeq: false }));

// ---- base64 / hex ---------------------------------------------------------------------

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict decode (Go's StdEncoding / URLEncoding), padding optional for the URL alphabet. */
function b64decode(name: string, s: string, url: boolean): string {
  const ok = url ? B64URL.test(s) : B64.test(s) && s.length % 4 === 0;
  if (!ok || (s.includes("=") && s.length % 4 !== 0) || s.replace(/=+$/, "").length % 4 === 1) {
    const bad = firstBadBase64(s, url);
    throw builtinErr(name, `illegal base64 data at input byte ${bad}`);
  }
  return Buffer.from(s, url ? "base64url" : "base64").toString("utf8");
}

function firstBadBase64(s: string, url: boolean): number {
  const alpha = url ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
  for (let i = 0; i < s.length; i++) {
    if (!alpha.test(s[i])) return i;
  }
  return Math.max(s.length - (s.length % 4), 0);
}

reg("base64.encode", 1, ([s]) => Buffer.from(str("base64.encode", 1, s), "utf8").toString("base64"));
reg("base64.decode", 1, ([s]) => b64decode("base64.decode", str("base64.decode", 1, s), false));
reg("base64.is_valid", 1, ([s]) => {
  const t = str("base64.is_valid", 1, s);
  return B64.test(t) && t.length % 4 === 0;
});
reg("base64url.encode", 1, ([s]) => {
  const b = Buffer.from(str("base64url.encode", 1, s), "utf8").toString("base64url");
  return b + "=".repeat((4 - (b.length % 4)) % 4);
});
reg("base64url.encode_no_pad", 1, ([s]) =>
  Buffer.from(str("base64url.encode_no_pad", 1, s), "utf8").toString("base64url"),
);
reg("base64url.decode", 1, ([s]) => {
  const text = str("base64url.decode", 1, s);
  // Missing padding is restored as RFC 7515 appendix C describes (OPA does the same).
  if (!text.endsWith("=") && text.length % 4 === 1) {
    throw builtinErr("base64url.decode", `illegal base64url string: ${text}`);
  }
  return b64decode("base64url.decode", text, true);
});

reg("hex.encode", 1, ([s]) => Buffer.from(str("hex.encode", 1, s), "utf8").toString("hex"));
reg("hex.decode", 1, ([s]) => {
  const t = str("hex.decode", 1, s);
  const bad = t.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    throw builtinErr(
      "hex.decode",
      `encoding/hex: invalid byte: U+${t.codePointAt(bad)?.toString(16).toUpperCase().padStart(4, "0")} ${JSON.stringify(String.fromCodePoint(t.codePointAt(bad) as number)).replace(/^"|"$/g, "'")}`,
    );
  if (t.length % 2 === 1) throw builtinErr("hex.decode", "encoding/hex: odd length hex string");
  return Buffer.from(t, "hex").toString("utf8");
});

// ---- URL query ------------------------------------------------------------------------

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(ch)) out += ch;
    else if (ch === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

class EscapeError extends Error {}

/** Go's url.QueryUnescape (query mode: '+' is a space). */
function urlUnescape(s: string, plusSpace: boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        throw new EscapeError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else if (ch === "+" && plusSpace) bytes.push(0x20);
    else for (const b of Buffer.from(ch, "utf8")) bytes.push(b);
  }
  return Buffer.from(bytes).toString("utf8");
}

reg("urlquery.encode", 1, ([s]) => queryEscape(str("urlquery.encode", 1, s)));
reg("urlquery.decode", 1, ([s]) => {
  try {
    return urlUnescape(str("urlquery.decode", 1, s), true);
  } catch (e) {
    if (e instanceof EscapeError) throw builtinErr("urlquery.decode", e.message);
    throw e;
  }
});

const ENCODE_OBJECT_ERR = "operand 1 values must be string, array[string], or set[string]";

reg("urlquery.encode_object", 1, ([o]) => {
  const x = obj("urlquery.encode_object", 1, o);
  const pairs: [string, string[]][] = [];
  for (const [k, v] of x.entries()) {
    if (typeof k !== "string") throw typeErr("urlquery.encode_object", ENCODE_OBJECT_ERR);
    if (typeof v === "string") pairs.push([k, [v]]);
    else if (Array.isArray(v) || v instanceof RSet) {
      pairs.push([
        k,
        elems(v).map((e) => {
          if (typeof e !== "string") throw typeErr("urlquery.encode_object", ENCODE_OBJECT_ERR);
          return e;
        }),
      ]);
    } else throw typeErr("urlquery.encode_object", ENCODE_OBJECT_ERR);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.flatMap(([k, vs]) => vs.map((v) => `${queryEscape(k)}=${queryEscape(v)}`)).join("&");
});

reg("urlquery.decode_object", 1, ([s]) => {
  const text = str("urlquery.decode_object", 1, s);
  const out = new Map<string, string[]>();
  for (const part of text.split(/[&]/)) {
    if (part === "") continue;
    if (part.includes(";"))
      throw builtinErr("urlquery.decode_object", "invalid semicolon separator in query");
    const eq = part.indexOf("=");
    const rawK = eq < 0 ? part : part.slice(0, eq);
    const rawV = eq < 0 ? "" : part.slice(eq + 1);
    let k: string;
    let v: string;
    try {
      k = urlUnescape(rawK, true);
      v = urlUnescape(rawV, true);
    } catch (e) {
      if (e instanceof EscapeError) throw builtinErr("urlquery.decode_object", e.message);
      throw e;
    }
    const list = out.get(k) ?? [];
    list.push(v);
    out.set(k, list);
  }
  const o = new RObject();
  for (const [k, vs] of out) o.set(k, vs);
  return o;
});

// ---- URI (Go's net/url.Parse) ----------------------------------------------------------

class URLError extends Error {}

interface ParsedURL {
  scheme: string;
  opaque: string;
  userinfo?: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
  fragment: string;
}

/** Go's shouldEscape(c, encodePath). */
function goShouldEscapePath(c: string): boolean {
  if (/[A-Za-z0-9\-_.~]/.test(c)) return false;
  return !"$&+,/:;=@".includes(c);
}

function escapePath(p: string): string {
  let out = "";
  for (const b of Buffer.from(p, "utf8")) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && !goShouldEscapePath(ch)) out += ch;
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function hostUnescape(s: string): string {
  // In a host, Go only allows percent-escapes of non-ASCII bytes (and %25 in zones).
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h) || (Number.parseInt(h[0], 16) < 8 && h !== "25")) {
        throw new URLError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
    }
  }
  return urlUnescape(s, false);
}

function validUserinfo(s: string): boolean {
  for (const ch of s) {
    if (/[A-Za-z0-9]/.test(ch)) continue;
    if ("-._:~!$&'()*+,;=%@".includes(ch)) continue;
    return false;
  }
  return true;
}

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const end = host.lastIndexOf("]");
    if (end < 0) throw new URLError("missing ']' in host");
    const port = host.slice(end + 1);
    if (port !== "" && !/^:[0-9]*$/.test(port))
      throw new URLError(`invalid port ${JSON.stringify(port)} after host`);
    return hostUnescape(host);
  }
  const colon = host.lastIndexOf(":");
  if (colon >= 0) {
    const port = host.slice(colon);
    if (!/^:[0-9]*$/.test(port)) throw new URLError(`invalid port ${JSON.stringify(port)} after host`);
  }
  return hostUnescape(host);
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function goParseURL(raw: string): ParsedURL {
  if (hasControlChar(raw)) throw new URLError("net/url: invalid control character in URL");
  const u: ParsedURL = {
    scheme: "",
    opaque: "",
    host: "",
    path: "",
    rawPath: "",
    rawQuery: "",
    fragment: "",
  };
  let rest = raw;
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    u.fragment = urlUnescape(rest.slice(hash + 1), false);
    rest = rest.slice(0, hash);
  }
  if (rest === "") return u;
  const m = /^([A-Za-z][A-Za-z0-9+\-.]*):/.exec(rest);
  if (m) {
    u.scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  } else if (
    /^[^/?#]*:/.test(rest) &&
    rest.indexOf(":") < (rest.indexOf("/") < 0 ? Infinity : rest.indexOf("/"))
  ) {
    if (rest.startsWith(":")) throw new URLError("missing protocol scheme");
    throw new URLError("first path segment in URL cannot contain colon");
  }
  const q = rest.indexOf("?");
  if (q >= 0) {
    u.rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith("/") && u.scheme !== "") {
    u.opaque = rest;
    return u;
  }
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? "" : rest.slice(slash);
    const at = authority.lastIndexOf("@");
    let host = authority;
    if (at >= 0) {
      const ui = authority.slice(0, at);
      if (!validUserinfo(ui)) throw new URLError("net/url: invalid userinfo");
      u.userinfo = ui;
      host = authority.slice(at + 1);
    }
    u.host = parseHost(host);
  }
  u.path = urlUnescape(rest, false);
  // Go's setPath: RawPath is kept only when it differs from the default encoding.
  u.rawPath = rest !== escapePath(u.path) ? rest : "";
  return u;
}

function parseOrThrow(name: string, raw: string): ParsedURL {
  try {
    return goParseURL(raw);
  } catch (e) {
    if (e instanceof URLError || e instanceof EscapeError) {
      throw builtinErr(name, `parse ${JSON.stringify(raw)}: ${e.message}`);
    }
    throw e;
  }
}

reg("uri.parse", 1, ([s]) => {
  const u = parseOrThrow("uri.parse", str("uri.parse", 1, s));
  const o = new RObject();
  const put = (k: string, v: string) => {
    if (v !== "") o.set(k, v);
  };
  put("scheme", u.scheme);
  let hostname = u.host;
  let port = "";
  if (hostname.startsWith("[")) {
    const end = hostname.lastIndexOf("]");
    port = hostname.slice(end + 2);
    hostname = hostname.slice(1, end);
  } else {
    const c = hostname.lastIndexOf(":");
    if (c >= 0) {
      port = hostname.slice(c + 1);
      hostname = hostname.slice(0, c);
    }
  }
  put("hostname", hostname);
  put("port", port);
  put("path", u.path);
  put("raw_path", u.rawPath !== "" ? u.rawPath : u.path);
  put("raw_query", u.rawQuery);
  put("fragment", u.fragment);
  return o;
});

reg("uri.is_valid", 1, ([s]) => {
  if (typeof s !== "string") return false;
  try {
    goParseURL(s);
    return true;
  } catch {
    return false;
  }
});
