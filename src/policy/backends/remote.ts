// Remote OPA backend: asks an OPA server over its REST data API
// (POST /v1/data/<path> with {"input": ...}, answer {"result": ...}).
import type { LoadedPolicy, PolicyBackend } from "../backend.js";

export interface RemoteBackendOptions {
  /** OPA base URL, e.g. http://127.0.0.1:8181 */
  url: string;
  /** Rule path (default "warden/decision"). */
  path?: string;
  headers?: Record<string, string>;
}

async function readJson(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${what}: OPA answered ${res.status} with a body that is not JSON`);
  }
}

export function remoteBackend(opts: RemoteBackendOptions): PolicyBackend {
  const base = opts.url.replace(/\/+$/, "");
  const rulePath = (opts.path ?? "warden/decision").replace(/^\/+|\/+$/g, "").replace(/\./g, "/");
  const dataUrl = `${base}/v1/data/${rulePath}`;
  const headers = { "content-type": "application/json", ...opts.headers };
  return {
    kind: "remote",
    async load(): Promise<LoadedPolicy> {
      // The version is the server's revision when it reports one; checked once per (re)load.
      let version = `remote:${dataUrl}`;
      const res = await fetch(`${base}/v1/data/${rulePath}?provenance=true`, {
        method: "POST",
        headers,
        body: JSON.stringify({ input: {} }),
        signal: AbortSignal.timeout(5_000),
      }).catch((err: Error) => {
        throw new Error(`OPA server ${base} is unreachable: ${err.message}`);
      });
      const body = await readJson(res, dataUrl);
      if (!res.ok) throw new Error(`OPA server ${base} answered ${res.status}: ${JSON.stringify(body)}`);
      const prov = body.provenance as
        | { revision?: string; bundles?: Record<string, { revision?: string }> }
        | undefined;
      const rev = prov?.revision ?? Object.values(prov?.bundles ?? {})[0]?.revision;
      if (rev) version = `remote:${rev}`;
      return {
        version,
        async evaluate(input, signal) {
          let r: Response;
          try {
            r = await fetch(dataUrl, { method: "POST", headers, body: JSON.stringify({ input }), signal });
          } catch (err) {
            throw new Error(`OPA server ${base} is unreachable: ${(err as Error).message}`);
          }
          const b = await readJson(r, dataUrl);
          if (!r.ok) throw new Error(`OPA server answered ${r.status}: ${String(b.message ?? b.code ?? "")}`);
          // An undefined rule has no "result" member: the decision parser turns that into default deny.
          return b.result;
        },
      };
    },
  };
}
