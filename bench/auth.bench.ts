// npm exec tsx bench/auth.bench.ts [-- --rounds N] [--json]
//
// Per-call cost of this area on the hot path, in process: the HTTP front door's authenticate
// hook with an API key (cached and uncached) and a JWT ES256 from a real JWKS endpoint (cached
// and uncached), plus the limits and approval stages on a normal call. A baseline hook that
// returns a fixed subject is measured in the same run; rounds interleave the cases so machine
// load hits all alike. Reports the median of per-round medians (µs per call) and the cost added
// over the baseline. Target: authentication adds ≤ 50 µs p50 per call.

import { mkdtempSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseApprovalConfig } from "../src/approval/config.js";
import { createApprovalStage } from "../src/approval/stage.js";
import { createAuthenticator } from "../src/auth/authenticator.js";
import { parseAuthConfig } from "../src/auth/config.js";
import { KeyStore } from "../src/auth/keyStore.js";
import { parseLimitsConfig } from "../src/limits/config.js";
import { createLimitsStage } from "../src/limits/stage.js";
import type { CallContext, Subject } from "../src/pipeline/types.js";
import { startIssuer } from "../test/auth/jwks-server.js";

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 7;
const CALLS = 2000;

function req(token: string): IncomingMessage {
  return {
    headers: { authorization: `Bearer ${token}`, host: "127.0.0.1:8787" },
    socket: {},
  } as unknown as IncomingMessage;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function perCallMedianUs(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return medianOf(samples);
}

const dir = mkdtempSync(join(tmpdir(), "warden-auth-bench-"));
const issuer = await startIssuer();
const resource = "http://127.0.0.1:8787/mcp";
const keys = new KeyStore(join(dir, "keys.json"));
const { token: apiKey } = keys.create({ name: "bench", tenant: "acme", roles: ["agent"] });
const jwtCfg = {
  enabled: true,
  issuer: issuer.url,
  audience: resource,
  algorithms: ["ES256"],
  jwksUrl: issuer.jwksUrl,
  claims: { user: "sub", tenant: "tid", roles: "roles", scopes: "scope", extra: [] },
};
const cached = createAuthenticator(parseAuthConfig({ stateDir: dir, jwt: jwtCfg }), { keyStore: keys });
const uncached = createAuthenticator(
  parseAuthConfig({ stateDir: dir, apiKeys: { cacheSeconds: 0 }, jwt: { ...jwtCfg, cache: { max: 1 } } }),
  { keyStore: keys },
);
const jwt = await issuer.sign({
  sub: "bench",
  tid: "acme",
  roles: ["agent"],
  scope: "tools",
  iss: issuer.url,
  aud: resource,
});
// distinct tokens defeat the JWT cache (max 1 entry, round-robin over 2 tokens)
const jwt2 = await issuer.sign({ sub: "bench2", tid: "acme", iss: issuer.url, aud: resource });
const fixed: Subject = { user: "u", tenant: "t", roles: [], scopes: [], authMethod: "anonymous" };
const baseline = async (_r: IncomingMessage) => fixed;

// The other per-call stages of this area, on the path a normal call takes.
const limits = createLimitsStage(
  parseLimitsConfig({
    default: {
      global: { limit: 1e9, per: "second" },
      perTenant: { limit: 1e9, per: "second" },
      perSubject: { limit: 1e9, per: "second" },
      perTool: { "*": { limit: 1e9, per: "second" } },
      sessionCallBudget: 1e12,
    },
  }),
);
const approval = createApprovalStage({ config: parseApprovalConfig({}) });
const ctx = {
  requestId: 1,
  transport: "http",
  environment: "dev",
  method: "tools/call",
  subject: { user: "u", tenant: "acme", roles: [], scopes: [], authMethod: "api_key" },
  session: { id: "s", callCount: 0, toolsCalled: [], flags: {} },
  client: { capabilities: {} },
  server: "memory",
  tool: "read_graph",
  params: { name: "memory__read_graph", arguments: {} },
  findings: [],
  decision: { allow: true, reasons: [], requireApproval: false, obligations: [], auditTags: [] },
  annotations: {},
  startedAt: 0n,
  signal: new AbortController().signal,
} as unknown as CallContext;

let flip = false;
const nextJwt = () => {
  flip = !flip;
  return flip ? jwt : jwt2;
};
const cases: Array<[string, () => Promise<unknown>]> = [
  ["baseline (fixed subject)", () => baseline(req(apiKey))],
  ["API key, cached", () => cached.authenticate(req(apiKey))],
  ["API key, uncached (HMAC + compare)", () => uncached.authenticate(req(apiKey))],
  ["JWT ES256, cached", () => cached.authenticate(req(jwt))],
  ["JWT ES256, uncached (signature verify)", () => uncached.authenticate(req(nextJwt()))],
  ["limits stage (4 buckets + session budget)", async () => limits.before?.(ctx)],
  ["approval stage (no approval required)", async () => approval.before?.(ctx)],
];

// warm-up: JIT, JWKS fetch, caches
for (const [, fn] of cases) for (let i = 0; i < 300; i++) await fn();

const results = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of cases) results.get(name)?.push(await perCallMedianUs(fn));
}
await issuer.close();

const base = medianOf(results.get(cases[0][0]) ?? [0]);
const rows = cases.map(([name]) => {
  const med = medianOf(results.get(name) ?? [0]);
  return { name, medianUs: med, addedUs: med - base, ratio: med / base };
});
if (args.includes("--json")) {
  process.stdout.write(`${JSON.stringify({ rounds, callsPerRound: CALLS, rows }, null, 2)}\n`);
} else {
  process.stdout.write(
    `auth verification per call (${rounds} rounds × ${CALLS} calls, median of round medians)\n\n`,
  );
  process.stdout.write("| case | p50 µs/call | added vs baseline µs | ratio |\n|---|---:|---:|---:|\n");
  for (const r of rows) {
    process.stdout.write(
      `| ${r.name} | ${r.medianUs.toFixed(2)} | ${r.addedUs.toFixed(2)} | ${r.ratio.toFixed(1)}× |\n`,
    );
  }
}
