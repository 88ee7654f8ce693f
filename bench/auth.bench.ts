// npm exec tsx bench/auth.bench.ts [-- --rounds N] [--json]
//
// Per-call cost of authentication at the HTTP front door's hook (createAuthenticator), in
// process: API key (cached and uncached), JWT ES256 via a real JWKS endpoint (cached and
// uncached), against a baseline hook that returns a fixed subject, all measured in the same
// run and interleaved by round so machine load hits every case alike. Reports the median of
// per-round medians (µs per call) and the cost added over the baseline. Target: ≤ 50 µs p50.

import { mkdtempSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator } from "../src/auth/authenticator.js";
import { parseAuthConfig } from "../src/auth/config.js";
import { KeyStore } from "../src/auth/keyStore.js";
import type { Subject } from "../src/pipeline/types.js";
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
