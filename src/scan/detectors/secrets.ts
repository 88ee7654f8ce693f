// Secret detector: vendor token formats, private keys, JWTs, credentials in URLs and connection
// strings, and generic high-entropy assignments. Works on the raw string so spans can be redacted.
import { shannonEntropy } from "../checks.js";
import { RUN_MIN, type Run, type TextFacts, tokenRuns } from "../runs.js";
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

// Credentials in a URL: scheme://user:password@host. Starts at the literal "://" (fast); the scheme
// is read backwards from there.
const URL_CREDENTIALS = /:\/\/([^\s:@/"'<>`]{1,64}):([^\s@/"'<>`]{1,128})@[^\s/"'<>@`]{1,255}/g;
const SCHEME_BEFORE = /([a-z][a-z0-9+.:-]{0,24})$/i;
// ADO.NET / ODBC style: ...;Password=...;
const CONN_STRING_PASSWORD = /\b(?:password|pwd)\s{0,3}=\s{0,3}([^;"'\s]{4,128})/iy;
// name = value, name: value, "name": "value" where the name says it holds a credential.
// Sticky: tried only where a credential word starts (see credentialWordStarts), which finds the
// same matches as a global scan since every match starts with one of those words.
const ASSIGNMENT =
  /((?:password|passwd|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|credentials?)[A-Za-z0-9_.-]{0,20})["']?\s{0,5}(?::=|=>|[:=])\s{0,5}(["'`]?)([^\s"'`;,]{8,200})\2/iy;
// The stems every ASSIGNMENT and CONN_STRING_PASSWORD match starts with (letters only).
const CREDENTIAL_WORDS = /pass|pwd|secret|token|api|access|auth|private|credential/g;
// Both patterns put ":" or "=" after the name; the name is a run of these characters.
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9_.-]/.test(String.fromCharCode(c))) NAME_CHAR[c] = 1;

const PLACEHOLDER =
  /^(?:\$\{.*\}|\$\(.*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|\{.*\}|<.*>|%[sdv]|%\(.*\)s|\*+|x{3,}|\.{3}|\[.*\]|(?:your|my|the|some|example|sample|dummy|fake|test|placeholder|changeme|redacted|replace|insert|enter)[_-]?.*|.*(?:_here|_placeholder)|password|passwd|secret|null|none|undefined|true|false|process\.env.*|os\.environ.*|env\(.*|getenv.*|(.)\1{0,7})$/i;

/** Looks like an identifier or path rather than a random credential. */
function looksLikeCode(v: string): boolean {
  return (
    /^[a-z]+(?:[._-][a-z]+)+$/i.test(v) ||
    /^[a-z]+(?:[A-Z][a-z]+)+$/.test(v) ||
    /^\w+\(\)?$/.test(v) ||
    /:\/\/|\$\(|\$\{|\{\{/.test(v)
  );
}

// Each rule's gate literals, split once into those that can only occur inside a token run (checked
// against the runs) and the others (checked against the whole text).
const GATES = SECRET_RULES.map((rule) =>
  rule.gate
    ? {
        inRuns: rule.gate.filter((g) => TOKEN_ONLY.test(g)),
        inText: rule.gate.filter((g) => !TOKEN_ONLY.test(g)),
      }
    : null,
);

// The gate literals that can only occur in a token run, longest first, in one pattern: one scan
// of the runs (restarted one character after each match, so overlapping literals are seen) finds
// which of them occur. At one position the longest literal that matches wins; the shorter ones it
// starts with, and any other literal inside it, occur too and are added from SUBSTRINGS.
const RUN_GATE_LITERALS = [...new Set(GATES.flatMap((g) => g?.inRuns ?? []))].sort(
  (a, b) => b.length - a.length,
);
const ANY_RUN_GATE = new RegExp(
  RUN_GATE_LITERALS.map((g) => g.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|"),
  "g",
);
const SUBSTRINGS = new Map(
  RUN_GATE_LITERALS.map((g) => [g, RUN_GATE_LITERALS.filter((h) => h !== g && g.includes(h))]),
);

/** The run-only gate literals that occur in `runs`. */
function runGateLiterals(runs: string): Set<string> | null {
  let found: Set<string> | null = null;
  ANY_RUN_GATE.lastIndex = 0;
  for (let m = ANY_RUN_GATE.exec(runs); m !== null; m = ANY_RUN_GATE.exec(runs)) {
    found ??= new Set();
    found.add(m[0]);
    for (const h of SUBSTRINGS.get(m[0]) ?? []) found.add(h);
    ANY_RUN_GATE.lastIndex = m.index + 1;
  }
  return found;
}

const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)));

/** Where ASSIGNMENT (`assignment`) and CONN_STRING_PASSWORD (`connString`) are tried. */
interface WordStarts {
  assignment: number[];
  connString: number[];
}

/**
 * Start positions of CREDENTIAL_WORDS (searched for left to right, case-insensitively) that can
 * begin an assignment: those in the run of name characters right before a ":" or "=" (after at
 * most five spaces and one quote, as ASSIGNMENT allows). Every ASSIGNMENT or CONN_STRING_PASSWORD
 * match starts with such a word, so trying only these finds the same matches as trying every
 * word, while the words are searched for in a few short runs instead of the whole text (and only
 * those runs are lower-cased). Each run starts after a character that is no letter, so no word
 * found by a search over the whole text crosses its start: the words found in it are the ones that
 * search finds there. Names are ASCII, so lower-casing keeps positions.
 */
function credentialWordStarts(text: string): WordStarts {
  const starts: WordStarts = { assignment: [], connString: [] };
  let lastRunEnd = -1;
  // The operators in order, from two indexOf chains (much faster than a /[:=]/ search).
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  while (colon !== -1 || equals !== -1) {
    let end: number;
    if (equals === -1 || (colon !== -1 && colon < equals)) {
      end = colon;
      colon = text.indexOf(":", colon + 1);
    } else {
      end = equals;
      equals = text.indexOf("=", equals + 1);
    }
    let spaces = 0;
    let quote = false;
    for (;;) {
      const c = text.charCodeAt(end - 1);
      if (spaces < 5 && isSpace(c)) spaces++;
      else if (!quote && (c === 34 || c === 39)) quote = true;
      else break;
      end--;
    }
    if (end <= lastRunEnd) continue;
    let start = end;
    while (start > 0) {
      const c = text.charCodeAt(start - 1);
      if (c > 127 || NAME_CHAR[c] === 0) break;
      start--;
    }
    // The shortest word has three letters.
    if (end - start < 3) continue;
    lastRunEnd = end;
    const run = text.slice(start, end).toLowerCase();
    CREDENTIAL_WORDS.lastIndex = 0;
    for (let m = CREDENTIAL_WORDS.exec(run); m !== null; m = CREDENTIAL_WORDS.exec(run)) {
      starts.assignment.push(start + m.index);
      // "password" and "pwd" begin a CREDENTIAL_WORDS match wherever they occur (no word ends in "p").
      if (run.startsWith("password", m.index) || run.startsWith("pwd", m.index))
        starts.connString.push(start + m.index);
    }
  }
  return starts;
}

/** Matches of a sticky regex tried at each candidate start, left to right, without overlaps. */
function* stickyMatches(re: RegExp, text: string, starts: number[]): Generator<RegExpExecArray> {
  let end = 0;
  for (const at of starts) {
    if (at < end) continue;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m) {
      end = at + Math.max(1, m[0].length);
      yield m;
    }
  }
}

function passesGate(gates: { inRuns: string[]; inText: string[] }, inRuns: Set<string> | null, text: string) {
  if (inRuns) for (const g of gates.inRuns) if (inRuns.has(g)) return true;
  for (const g of gates.inText) if (text.includes(g)) return true;
  return false;
}

export function detectSecrets(
  text: string,
  options: SecretOptions = {},
  facts: TextFacts = options,
): DetectorHit[] {
  const hits: DetectorHit[] = [];
  const allow = options.allow;
  const minEntropy = options.minEntropy ?? 3.0;
  // Characters already claimed by a hit: overlap checks stay O(span) however many hits there are.
  let covered: Uint8Array | undefined;
  const overlaps = (s: number, e: number) => {
    covered ??= new Uint8Array(text.length);
    for (let i = s; i < e; i++) if (covered[i]) return true;
    return false;
  };
  const push = (kind: string, score: number, value: string, start: number) => {
    if (DOCUMENTED_EXAMPLE_SECRETS.has(value) || allow?.includes(value)) return;
    const end = start + value.length;
    if (overlaps(start, end)) return;
    covered?.fill(1, start, end);
    hits.push({ detector: "secrets", kind, score, evidence: mask(value), start, end });
  };

  // Token formats live in long runs of token characters; gates are checked against those runs
  // only (much shorter than prose), except gates with other characters ("PRIVATE KEY", ":AA").
  const runs = (facts.runs ?? tokenRuns(text, RUN_MIN)).map((r) => text.slice(r.start, r.end)).join(" ");
  const inRuns = runGateLiterals(runs);
  for (let r = 0; r < SECRET_RULES.length; r++) {
    const rule = SECRET_RULES[r];
    const gates = GATES[r];
    if (gates && !passesGate(gates, inRuns, text)) continue;
    if (rule.gateRe && !rule.gateRe.test(runs)) continue;
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
      push(rule.kind, score, value, m.index + m[0].indexOf(value));
    }
  }

  if (text.includes("://")) {
    URL_CREDENTIALS.lastIndex = 0;
    for (let m = URL_CREDENTIALS.exec(text); m !== null; m = URL_CREDENTIALS.exec(text)) {
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
      push(dbScheme ? "connection_string_password" : "url_credentials", local ? 0.45 : 0.85, password, start);
    }
  }
  const wordStarts = credentialWordStarts(text);
  for (const m of stickyMatches(CONN_STRING_PASSWORD, text, wordStarts.connString)) {
    const value = m[1];
    if (
      PLACEHOLDER.test(value) ||
      !/;/.test(text.slice(Math.max(0, m.index - 80), m.index + m[0].length + 1))
    )
      continue;
    push("connection_string_password", 0.8, value, m.index + m[0].lastIndexOf(value));
  }
  for (const m of stickyMatches(ASSIGNMENT, text, wordStarts.assignment)) {
    const value = m[3];
    if (PLACEHOLDER.test(value) || looksLikeCode(value)) continue;
    // A name that belongs to a vendor format with a fixed shape (AWS secret keys are 40
    // characters) holding a value of another shape is something else (e.g. an encrypted blob).
    const name = text.slice(Math.max(0, m.index - 24), m.index) + m[1];
    if (/aws[\w.-]*secret/i.test(name) && value.length !== 40) continue;
    const entropy = shannonEntropy(value);
    const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((c) => c.test(value)).length;
    if (entropy < minEntropy || classes < 2) continue;
    const score = Math.min(0.9, 0.45 + (entropy - minEntropy) * 0.15 + (value.length >= 20 ? 0.1 : 0));
    push("generic_secret", round(score), value, m.index + m[0].lastIndexOf(value));
  }
  return hits;
}

/** Shows the shape of a secret without revealing it. */
export function mask(value: string): string {
  if (value.length <= 8) return "*".repeat(value.length);
  return `${value.slice(0, 4)}…${"*".repeat(Math.min(8, value.length - 4))}(${value.length})`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
