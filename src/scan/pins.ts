// Tool-definition pins: the hash of each tool's definition on first sight, per environment and
// server, kept in a small JSON file. A changed definition (rug pull) stays pending until approved.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Pin {
  hash: string;
  pinnedAt: string;
  /** Set when the server now serves a different definition than the pinned one. */
  pending?: { hash: string; seenAt: string; definition: unknown };
}

type PinFile = Record<string, Record<string, Record<string, Pin>>>; // env -> server -> tool -> pin

export type PinCheck = "pinned_now" | "match" | "changed";

export const PIN_FILE = "tool-pins.json";

/** Stable hash of the parts of a tool definition a model reads or a client relies on. */
export function definitionHash(tool: Record<string, unknown>): string {
  const { name, title, description, inputSchema, outputSchema, annotations } = tool;
  return createHash("sha256")
    .update(canonicalJson({ name, title, description, inputSchema, outputSchema, annotations }))
    .digest("hex");
}

function canonicalJson(v: unknown): string {
  if (v === undefined) return "null";
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v as Record<string, unknown>)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

export class PinStore {
  readonly path: string;
  private data: PinFile;

  constructor(stateDir: string) {
    this.path = join(stateDir, PIN_FILE);
    this.data = PinStore.load(this.path);
  }

  private static load(path: string): PinFile {
    let raw: string;
    try {
      raw = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
    const parsed = JSON.parse(raw) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error(`${path}: not a tool pin file (expected a JSON object)`);
    }
    return parsed as PinFile;
  }

  /** Re-reads the file (another process, e.g. `warden tools approve`, may have changed it). */
  reload(): void {
    this.data = PinStore.load(this.path);
  }

  get(env: string, server: string, tool: string): Pin | undefined {
    return this.data[env]?.[server]?.[tool];
  }

  list(env?: string): Array<{ env: string; server: string; tool: string; pin: Pin }> {
    const out: Array<{ env: string; server: string; tool: string; pin: Pin }> = [];
    for (const [e, servers] of Object.entries(this.data)) {
      if (env && e !== env) continue;
      for (const [server, tools] of Object.entries(servers)) {
        for (const [tool, pin] of Object.entries(tools)) out.push({ env: e, server, tool, pin });
      }
    }
    return out;
  }

  /** Pins on first sight, matches, or records the new definition as pending. */
  check(env: string, server: string, definition: Record<string, unknown>): PinCheck {
    const tool = String(definition.name);
    const hash = definitionHash(definition);
    const pin = this.get(env, server, tool);
    if (!pin) {
      this.set(env, server, tool, { hash, pinnedAt: new Date().toISOString() });
      return "pinned_now";
    }
    if (pin.hash === hash) {
      if (pin.pending) {
        delete pin.pending; // the server went back to the approved definition
        this.save();
      }
      return "match";
    }
    if (pin.pending?.hash !== hash) {
      pin.pending = { hash, seenAt: new Date().toISOString(), definition };
      this.save();
    }
    return "changed";
  }

  /** Accepts the pending definition of a tool. Throws when there is nothing to approve. */
  approve(env: string, server: string, tool: string): Pin {
    const pin = this.get(env, server, tool);
    if (!pin) throw new Error(`no pin for tool "${tool}" of server "${server}" in environment "${env}"`);
    if (!pin.pending)
      throw new Error(`tool "${tool}" of server "${server}" has no pending change in "${env}"`);
    const approved: Pin = { hash: pin.pending.hash, pinnedAt: new Date().toISOString() };
    this.set(env, server, tool, approved);
    return approved;
  }

  private set(env: string, server: string, tool: string, pin: Pin): void {
    this.data[env] ??= {};
    this.data[env][server] ??= {};
    this.data[env][server][tool] = pin;
    this.save();
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path); // atomic replace: readers never see half a file
  }
}
