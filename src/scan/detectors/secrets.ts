// Secret detector: vendor token formats, private keys, JWTs, credentials in URLs and connection
// strings, and generic high-entropy assignments. Works on the raw string so spans can be redacted.
import { shannonEntropy } from "../checks.js";
import { ClaimedHits } from "../claimed-hits.js";
import { codeUnits, RUN_MIN, type Run, type TextFacts, tokenRuns } from "../runs.js";
import type { DetectorHit } from "../types.js";
import { SECRET_RULES } from "./secret-rules.js";

const TOKEN_ONLY = /^[A-Za-z0-9+/=_.~-]+$/;

export interface SecretOptions {
  /** Exact values never reported (in addition to the documented example keys). */
  allow?: string[];
  /** Minimum Shannon entropy (bits/char) for generic assignments. */
  minEntropy?: number;
  /** Token runs of the text (`tokenRuns(text, 12)`), when the caller already computed them. */
  runs?: Run[];
}

// Example credentials published in vendor documentation.
export const DOCUMENTED_EXAMPLE_SECRETS = new Set([
  "AKIAIOSFODNN7EXAMPLE",
  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "ASIAIOSFODNN7EXAMPLE",
  "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
  "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
]);

// Credentials in a URL: scheme://user:password@host. Sticky: tried at each "://" (scanOperators
// finds them), where every match starts; the scheme is read backwards from there.
const URL_CREDENTIALS = /:\/\/([^\s:@/"'<>`]{1,64}):([^\s@/"'<>`]{1,128})@[^\s/"'<>@`]{1,255}/y;
const SCHEME_BEFORE = /([a-z][a-z0-9+.:-]{0,24})$/i;
// ADO.NET / ODBC style: ...;Password=...;
const CONN_STRING_PASSWORD = /\b(?:password|pwd)\s{0,3}=\s{0,3}([^;"'\s]{4,128})/iy;
// name = value, name: value, "name": "value" where the name says it holds a credential.
// Sticky: tried only where a credential word starts (see scanOperators), which finds the
// same matches as a global scan since every match starts with one of those words.
const ASSIGNMENT =
  /((?:password|passwd|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|credentials?)[A-Za-z0-9_.-]{0,20})["']?\s{0,5}(?::=|=>|[:=])\s{0,5}(["'`]?)([^\s"'`;,]{8,200})\2/iy;
// The stems every ASSIGNMENT and CONN_STRING_PASSWORD match starts with (letters only), found in
// a name by credentialWordAt.
// Both patterns put ":" or "=" after the name; the name is a run of these characters.
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9_.-]/.test(String.fromCharCode(c))) NAME_CHAR[c] = 1;

const PLACEHOLDER =
  /^(?:\$\{.*\}|\$\(.*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|\{.*\}|<.*>|%[sdv]|%\(.*\)s|\*+|x{3,}|\.{3}|\[.*\]|(?:your|my|the|some|example|sample|dummy|fake|test|placeholder|changeme|redacted|replace|insert|enter)[_-]?.*|.*(?:_here|_placeholder)|password|passwd|secret|null|none|undefined|true|false|process\.env.*|os\.environ.*|env\(.*|getenv.*|(.)\1{0,7})$/i;

/** Looks like an identifier or path rather than a random credential. */
const DOTTED_WORDS = /^[a-z]+(?:[._-][a-z]+)+$/i;
const CAMEL_CASE = /^[a-z]+(?:[A-Z][a-z]+)+$/;
const CALL = /^\w+\(\)?$/;
const URL_OR_TEMPLATE = /:\/\/|\$\(|\$\{|\{\{/;
function looksLikeCode(v: string): boolean {
  return DOTTED_WORDS.test(v) || CAMEL_CASE.test(v) || CALL.test(v) || URL_OR_TEMPLATE.test(v);
}

// Gates (see SecretRule.gate) are checked once per text, for all rules together: dueRules marks
// the rules whose gate passes. Gate literals made of token characters can only occur inside a
// token run, so they are looked for in the long runs only (a small part of prose); those that
// start with ":" (":AA") at the colons the scan for assignments visits anyway (scanOperators);
// the others ("PRIVATE KEY") are searched for in the whole text.

/** A gate looked for in the runs: a literal (its rules run when it occurs) or the UUID shape. */
interface RunGate {
  literal: string;
  anyCase: boolean;
  uuid: boolean;
  rules: number[];
}
// Run gates by their first two characters (ASCII, as every token character is): a scan of the runs
// looks up each pair of neighbouring characters and checks only the gates that start with it.
const PAIR_GATES = new Int16Array(128 * 128).fill(-1);
const RUN_GATES: RunGate[][] = [];
const TEXT_GATES = new Map<string, number[]>();
const COLON_GATES: Array<{ literal: string; rules: number[] }> = [];
const HEX = "0123456789abcdefABCDEF";

function addRunGate(first: string, second: string, gate: RunGate): void {
  const key = (first.charCodeAt(0) << 7) | second.charCodeAt(0);
  if (PAIR_GATES[key] < 0) PAIR_GATES[key] = RUN_GATES.push([]) - 1;
  const group = RUN_GATES[PAIR_GATES[key]];
  const same = group.find(
    (g) => g.literal === gate.literal && g.anyCase === gate.anyCase && g.uuid === gate.uuid,
  );
  if (same) same.rules.push(...gate.rules);
  else group.push(gate);
}
const cases = (c: string) => [...new Set([c.toLowerCase(), c.toUpperCase()])];

SECRET_RULES.forEach((rule, r) => {
  for (const literal of rule.gate ?? []) {
    const anyCase = rule.gateAnyCase === true;
    if (!TOKEN_ONLY.test(literal)) {
      if (anyCase) throw new Error(`secret rule ${rule.kind}: gateAnyCase needs token-only literals`);
      const colon = literal.startsWith(":") ? COLON_GATES.find((g) => g.literal === literal) : undefined;
      if (colon) colon.rules.push(r);
      else if (literal.startsWith(":")) COLON_GATES.push({ literal, rules: [r] });
      else TEXT_GATES.set(literal, [...(TEXT_GATES.get(literal) ?? []), r]);
      continue;
    }
    if (literal.length < 2) throw new Error(`secret rule ${rule.kind}: gate literal "${literal}" too short`);
    const gate = { literal: anyCase ? literal.toLowerCase() : literal, anyCase, uuid: false, rules: [r] };
    const firsts = anyCase ? cases(literal[0]) : [literal[0]];
    const seconds = anyCase ? cases(literal[1]) : [literal[1]];
    for (const a of firsts) for (const b of seconds) addRunGate(a, b, { ...gate, rules: [r] });
  }
  if (rule.gateUuid)
    for (const h of HEX) addRunGate("-", h, { literal: "", anyCase: false, uuid: true, rules: [r] });
});

/** `literal` at `i`, ending by `end`; lower-case `literal` for any case (token characters only). */
function literalAt(codes: Uint16Array, i: number, end: number, literal: string, anyCase: boolean): boolean {
  if (i + literal.length > end) return false;
  // Among token characters, c | 32 is a lower-case letter only for that letter in either case.
  const fold = anyCase ? 32 : 0;
  for (let k = 0; k < literal.length; k++) if ((codes[i + k] | fold) !== literal.charCodeAt(k)) return false;
  return true;
}

const isHex = (c: number) => (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
/** "-xxxx-xxxx-" (hex digits) at `i`, ending by `end`. */
function uuidGroupsAt(codes: Uint16Array, i: number, end: number): boolean {
  if (i + 11 > end || codes[i + 5] !== 45 || codes[i + 10] !== 45) return false;
  for (let k = 1; k < 10; k++) if (k !== 5 && !isHex(codes[i + k])) return false;
  return true;
}

/**
 * Which gated rules can match (1 at the rule's index; reused from call to call): dueRules marks
 * those with a gate in one of `runs` or, for literals with other characters, in the text, on top
 * of those scanOperators marked (gates at a ":").
 */
const due = new Uint8Array(SECRET_RULES.length);
function dueRules(text: string, codes: Uint16Array, runs: Run[]): void {
  for (let q = 0; q < runs.length; q++) {
    const end = runs[q].end;
    let pair = codes[runs[q].start];
    for (let i = runs[q].start + 1; i < end; i++) {
      pair = ((pair << 7) | codes[i]) & 0x3fff;
      const g = PAIR_GATES[pair];
      if (g < 0) continue;
      for (const gate of RUN_GATES[g]) {
        if (
          gate.uuid
            ? uuidGroupsAt(codes, i - 1, end)
            : literalAt(codes, i - 1, end, gate.literal, gate.anyCase)
        )
          for (const r of gate.rules) due[r] = 1;
      }
    }
  }
  for (const [literal, rules] of TEXT_GATES) if (text.includes(literal)) for (const r of rules) due[r] = 1;
}

const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)));

/**
 * Whether `word` (lower-case letters) occurs at `i` in `text`, ending at or before `end`, in any
 * case. Only for name characters ([A-Za-z0-9_.-]): among those, `c | 32` equals a lower-case letter
 * exactly when c is that letter in either case.
 */
function asciiWordAt(codes: Uint16Array, i: number, end: number, word: string): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if ((codes[i + k] | 32) !== word.charCodeAt(k)) return false;
  return true;
}

// The credential stems of ASSIGNMENT and CONN_STRING_PASSWORD; their first two letters tell them apart.
const STEMS = ["pass", "pwd", "private", "secret", "token", "api", "access", "auth", "credential"];
// 1 + the index in STEMS of the stem that begins with a pair of name characters (each `| 32`, so
// either case), else 0: one table read per position of a name instead of a compare per stem.
const STEM_BY_PAIR = new Uint8Array(128 * 128);
STEMS.forEach((stem, k) => {
  const key = (stem.charCodeAt(0) << 7) | stem.charCodeAt(1);
  if (STEM_BY_PAIR[key] !== 0)
    throw new Error(`credential stems "${stem}" and "${STEMS[STEM_BY_PAIR[key] - 1]}" begin alike`);
  STEM_BY_PAIR[key] = k + 1;
});

/**
 * Length of the credential stem (one of STEMS) at `i` within a name ending at `end` (at least
 * `i + 2`), any case; 0 when none starts there. Reads the name in place: no slice, no lower-cased
 * copy, no regex per ":" or "=".
 */
function credentialWordAt(codes: Uint16Array, i: number, end: number): number {
  const k = STEM_BY_PAIR[((codes[i] | 32) << 7) | (codes[i + 1] | 32)];
  if (k === 0) return 0;
  const stem = STEMS[k - 1];
  return asciiWordAt(codes, i, end, stem) ? stem.length : 0;
}

/**
 * What scanOperators found in a text (reused from call to call): where ASSIGNMENT (`assignment`),
 * CONN_STRING_PASSWORD (`connString`) and URL_CREDENTIALS (`url`: each "://") are tried.
 */
const operators = { assignment: [] as number[], connString: [] as number[], url: [] as number[] };

/**
 * One walk over the ":" and "=" of `text`. Collects the start positions of the credential stems
 * (credentialWordAt; searched for left to right, any case) that can begin an assignment: those in
 * the run of name characters right before a ":" or "=" (after at most five spaces and one quote,
 * as ASSIGNMENT allows). Every ASSIGNMENT or CONN_STRING_PASSWORD match starts with such a word,
 * so trying only these finds the same matches as trying every word, while the words are searched
 * for in a few short runs instead of the whole text. Each run starts after a character that is no
 * letter, so no word found by a search over the whole text crosses its start: the words found in
 * it are the ones that search finds there. At each ":" it also notes where "://" occurs and marks the rules of
 * the gates that start with ":" in `due` (no search of the text of their own).
 */
function scanOperators(text: string, codes: Uint16Array): void {
  const { assignment, connString, url } = operators;
  assignment.length = 0;
  connString.length = 0;
  url.length = 0;
  const n = text.length;
  let lastRunEnd = -1;
  // The operators in order, from two indexOf chains (much faster than a /[:=]/ search).
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  while (colon !== -1 || equals !== -1) {
    let end: number;
    if (equals === -1 || (colon !== -1 && colon < equals)) {
      end = colon;
      if (colon + 2 < n && codes[colon + 1] === 47 && codes[colon + 2] === 47) url.push(colon);
      for (let g = 0; g < COLON_GATES.length; g++)
        if (literalAt(codes, colon, n, COLON_GATES[g].literal, false))
          for (const r of COLON_GATES[g].rules) due[r] = 1;
      colon = text.indexOf(":", colon + 1);
    } else {
      end = equals;
      equals = text.indexOf("=", equals + 1);
    }
    let spaces = 0;
    let quote = false;
    while (end > 0) {
      const c = codes[end - 1];
      if (spaces < 5 && isSpace(c)) spaces++;
      else if (!quote && (c === 34 || c === 39)) quote = true;
      else break;
      end--;
    }
    if (end <= lastRunEnd) continue;
    let start = end;
    while (start > 0) {
      const c = codes[start - 1];
      if (c > 127 || NAME_CHAR[c] === 0) break;
      start--;
    }
    // The shortest word has three letters.
    if (end - start < 3) continue;
    lastRunEnd = end;
    // The matches of /pass|pwd|secret|token|api|access|auth|private|credential/gi in the name,
    // left to right without overlaps (at one position at most one stem can match).
    for (let i = start; i + 3 <= end; ) {
      const length = credentialWordAt(codes, i, end);
      if (length === 0) {
        i++;
        continue;
      }
      assignment.push(i);
      // "password" and "pwd" begin a stem match wherever they occur (no stem ends in "p").
      if (length === 3 ? (codes[i + 1] | 32) === 119 : asciiWordAt(codes, i, end, "password"))
        connString.push(i);
      i += length;
    }
  }
}

/**
 * The next match of a sticky regex tried at the candidate starts `starts[from..]`, left to right,
 * beginning at or after `notBefore` (no overlaps); null when none matches. `next.at` is set to the
 * index of the start after the one that matched.
 */
function nextStickyMatch(
  re: RegExp,
  text: string,
  starts: number[],
  next: { at: number; notBefore: number },
): RegExpExecArray | null {
  while (next.at < starts.length) {
    const at = starts[next.at++];
    if (at < next.notBefore) continue;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m) {
      next.notBefore = at + Math.max(1, m[0].length);
      return m;
    }
  }
  return null;
}

/** The secret hits of one text (see ClaimedHits). */
class SecretHits extends ClaimedHits {
  constructor(
    text: string,
    private readonly allow: string[] | undefined,
  ) {
    super(text);
  }

  push(kind: string, score: number, value: string, start: number): void {
    if (DOCUMENTED_EXAMPLE_SECRETS.has(value) || this.allow?.includes(value)) return;
    const end = start + value.length;
    if (!this.claim(start, end)) return;
    this.hits.push({ detector: "secrets", kind, score, evidence: mask(value), start, end });
  }
}

// The buffer for the code units when the caller has none (detectSecrets is not re-entered).
const UNITS = { buffer: Buffer.alloc(2 * 8192) };

export function detectSecrets(
  text: string,
  options: SecretOptions = {},
  facts: TextFacts = options,
): DetectorHit[] {
  const out = new SecretHits(text, options.allow);
  const minEntropy = options.minEntropy ?? 3.0;

  // Token formats live in long runs of token characters; gates are checked against those runs
  // only (much shorter than prose), except gates with other characters ("PRIVATE KEY", ":AA").
  const codes = facts.units ?? codeUnits(text, UNITS);
  due.fill(0);
  scanOperators(text, codes);
  dueRules(text, codes, facts.runs ?? tokenRuns(text, RUN_MIN, codes));
  for (let r = 0; r < SECRET_RULES.length; r++) {
    const rule = SECRET_RULES[r];
    if ((rule.gate || rule.gateUuid) && due[r] === 0) continue;
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      const value = m[rule.group ?? 0];
      if (value === undefined) continue;
      let score = rule.score;
      if (rule.validate) {
        const v = rule.validate(value, m);
        if (v === false || v === 0) continue;
        if (typeof v === "number") score = v;
      }
      out.push(rule.kind, score, value, m.index + m[0].indexOf(value));
    }
  }

  const next = { at: 0, notBefore: 0 };
  urlCredentials(text, next, out);
  next.at = 0;
  next.notBefore = 0;
  for (let m = nextStickyMatch(CONN_STRING_PASSWORD, text, operators.connString, next); m !== null; ) {
    const value = m[1];
    if (
      !PLACEHOLDER.test(value) &&
      /;/.test(text.slice(Math.max(0, m.index - 80), m.index + m[0].length + 1))
    )
      out.push("connection_string_password", 0.8, value, m.index + m[0].lastIndexOf(value));
    m = nextStickyMatch(CONN_STRING_PASSWORD, text, operators.connString, next);
  }
  next.at = 0;
  next.notBefore = 0;
  for (let m = nextStickyMatch(ASSIGNMENT, text, operators.assignment, next); m !== null; ) {
    genericAssignment(text, m, minEntropy, out);
    m = nextStickyMatch(ASSIGNMENT, text, operators.assignment, next);
  }
  return out.hits;
}

/** URL_CREDENTIALS at the "://" scanOperators found (`next` at 0: from the first). */
function urlCredentials(text: string, next: { at: number; notBefore: number }, out: SecretHits): void {
  const starts = operators.url;
  for (
    let m = nextStickyMatch(URL_CREDENTIALS, text, starts, next);
    m !== null;
    m = nextStickyMatch(URL_CREDENTIALS, text, starts, next)
  ) {
    const [, user, password] = m;
    const scheme = SCHEME_BEFORE.exec(text.slice(Math.max(0, m.index - 25), m.index))?.[1] ?? "";
    // Templates, documentation placeholders and user==password defaults are not leaked credentials.
    if (PLACEHOLDER.test(password) || PLACEHOLDER.test(user) || password === user || password.length < 4)
      continue;
    const dbScheme =
      /^(?:jdbc:)?(?:mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mssql|sqlserver|oracle|cockroachdb)$/i.test(
        scheme,
      );
    const start = m.index + m[0].indexOf(`:${password}@`) + 1;
    // Credentials for a service on the local machine are development defaults far more often
    // than leaks: reported below the default threshold.
    const host = m[0].slice(m[0].lastIndexOf("@") + 1);
    const local = /^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])(?::\d+)?$/i.test(host);
    out.push(
      dbScheme ? "connection_string_password" : "url_credentials",
      local ? 0.45 : 0.85,
      password,
      start,
    );
  }
}

const AWS_SECRET_NAME = /aws[\w.-]*secret/i;
/** A `name = value` match of ASSIGNMENT: reported when the value looks like a random credential. */
function genericAssignment(text: string, m: RegExpExecArray, minEntropy: number, out: SecretHits): void {
  const value = m[3];
  if (PLACEHOLDER.test(value) || looksLikeCode(value)) return;
  // A name that belongs to a vendor format with a fixed shape (AWS secret keys are 40
  // characters) holding a value of another shape is something else (e.g. an encrypted blob).
  if (value.length !== 40 && AWS_SECRET_NAME.test(text.slice(Math.max(0, m.index - 24), m.index) + m[1]))
    return;
  const entropy = shannonEntropy(value);
  if (entropy < minEntropy || characterClasses(value) < 2) return;
  const score = Math.min(0.9, 0.45 + (entropy - minEntropy) * 0.15 + (value.length >= 20 ? 0.1 : 0));
  out.push("generic_secret", round(score), value, m.index + m[0].lastIndexOf(value));
}

/** How many of lower-case letters, upper-case letters, digits and other characters `value` holds. */
function characterClasses(value: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

/** Shows the shape of a secret without revealing it. */
export function mask(value: string): string {
  if (value.length <= 8) return "*".repeat(value.length);
  return `${value.slice(0, 4)}…${"*".repeat(Math.min(8, value.length - 4))}(${value.length})`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
