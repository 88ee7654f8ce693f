// OPA wasm backend: a bundle from `opa build -t wasm -e warden/decision` (bundle.tar.gz holding
// /policy.wasm and /data.json) or a raw policy.wasm, evaluated with @open-policy-agent/opa-wasm.
import { readFile } from "node:fs/promises";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { type LoadedPolicy, type PolicyBackend, versionHash } from "../backend.js";
import { readTarGz } from "./tar.js";

export interface WasmBackendOptions {
  /** bundle.tar.gz or policy.wasm. */
  path: string;
  /** Entrypoint compiled into the module (default "warden/decision"). */
  entrypoint?: string;
  /** Extra data merged over the bundle's data.json. */
  data?: Record<string, unknown>;
}

function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === "string") return new Error(err);
  if (err && typeof err === "object" && "message" in err)
    return new Error(String((err as { message: unknown }).message));
  return new Error(String(err));
}

export function wasmBackend(opts: WasmBackendOptions): PolicyBackend {
  const entrypoint = opts.entrypoint ?? "warden/decision";
  return {
    kind: "wasm",
    watchPaths: () => [opts.path],
    async load(): Promise<LoadedPolicy> {
      const bytes = await readFile(opts.path);
      let wasm: Buffer;
      let data: Record<string, unknown> = {};
      let dataText = "";
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        let files: Map<string, Buffer>;
        try {
          files = readTarGz(bytes);
        } catch (err) {
          throw new Error(`${opts.path}: not a readable OPA bundle (${asError(err).message})`);
        }
        const w = files.get("policy.wasm");
        if (!w)
          throw new Error(`${opts.path}: bundle has no policy.wasm (build it with \`opa build -t wasm\`)`);
        wasm = w;
        const d = files.get("data.json");
        if (d) {
          dataText = d.toString("utf8");
          try {
            data = JSON.parse(dataText) as Record<string, unknown>;
          } catch (err) {
            throw new Error(`${opts.path}: data.json is not valid JSON (${asError(err).message})`);
          }
        }
      } else if (bytes.subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d]))) {
        wasm = bytes;
      } else {
        throw new Error(`${opts.path}: neither a wasm module nor a gzip bundle`);
      }
      if (opts.data) data = { ...data, ...opts.data };
      let policy: Awaited<ReturnType<typeof loadPolicy>>;
      try {
        policy = await loadPolicy(wasm);
        policy.setData(data);
      } catch (err) {
        throw new Error(`${opts.path}: cannot load OPA wasm module: ${asError(err).message}`);
      }
      const entrypoints = (policy as unknown as { entrypoints: Record<string, number> }).entrypoints ?? {};
      if (!(entrypoint in entrypoints))
        throw new Error(
          `${opts.path}: entrypoint '${entrypoint}' is not in the module (has: ${Object.keys(entrypoints).join(", ") || "none"})`,
        );
      const version = versionHash([
        { name: "policy.wasm", content: wasm },
        { name: "data.json", content: dataText + JSON.stringify(opts.data ?? {}) },
      ]);
      return {
        version,
        synchronous: true,
        evaluate(input) {
          try {
            return policy.evaluate(input, entrypoint);
          } catch (err) {
            throw new Error(`wasm policy failed: ${asError(err).message}`);
          }
        },
      };
    },
  };
}
