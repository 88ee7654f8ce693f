// Arguments shown to a human approver (elicitation message, admin API, webhook): secrets
// masked by key name and by value shape, long values cut, depth bounded.

const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|auth|cookie|credential|private[-_]?key|session/i;
const SECRET_VALUE = [
  /\b(sk|pk|rk)[-_][A-Za-z0-9]{16,}/, // provider API keys
  /\bAKIA[0-9A-Z]{16}\b/, // AWS access key id
  /\bgh[pousr]_[A-Za-z0-9]{30,}/, // GitHub tokens
  /\bwk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/, // warden API keys
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, // JWTs
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];
const MAX_STRING = 200;
const MAX_DEPTH = 6;
const MAX_ITEMS = 50;

export function redactArguments(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    if (SECRET_VALUE.some((re) => re.test(value))) return "[redacted]";
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[…]";
  if (Array.isArray(value)) {
    const out = value.slice(0, MAX_ITEMS).map((v) => redactArguments(v, depth + 1));
    if (value.length > MAX_ITEMS) out.push(`… (${value.length - MAX_ITEMS} more)`);
    return out;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (n++ >= MAX_ITEMS) {
      out["…"] = "(more keys)";
      break;
    }
    out[k] = SECRET_KEY.test(k) ? "[redacted]" : redactArguments(v, depth + 1);
  }
  return out;
}
