// `warden audit tail`: reads the ledger's last records, filters them for people, follows growth.
import { open, stat } from "node:fs/promises";
import type { AuditRecord } from "./record.js";

/** A filter like `user=alice`, `event=refusal`, `tool=read_*` or `subject.tenant=acme`. */
export interface RecordFilter {
  path: string[];
  test(value: string): boolean;
}

const SHORTCUTS: Record<string, string> = {
  user: "subject.user",
  tenant: "subject.tenant",
  team: "subject.team",
  mode: "effectiveMode",
  version: "policyVersion",
};

export function parseFilter(spec: string): RecordFilter {
  const eq = spec.indexOf("=");
  if (eq <= 0)
    throw new Error(
      `filter '${spec}' must look like key=value (e.g. user=alice, event=refusal, tool=read_*)`,
    );
  const key = spec.slice(0, eq).trim();
  const pattern = spec.slice(eq + 1);
  const path = (SHORTCUTS[key] ?? key).split(".");
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return { path, test: (v) => re.test(v) };
}

function valueAt(rec: unknown, path: string[]): unknown {
  let cur = rec;
  for (const p of path) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function matches(rec: AuditRecord, filters: readonly RecordFilter[]): boolean {
  return filters.every((f) => {
    const v = valueAt(rec, f.path);
    if (Array.isArray(v)) return v.some((x) => f.test(String(x)));
    return v !== undefined && v !== null && f.test(String(v));
  });
}

/** One line for people: time, seq, event, decision, who, what, why. */
export function formatRecord(rec: AuditRecord): string {
  const who = rec.subject ? `${rec.subject.tenant}/${rec.subject.user}` : "-";
  const what =
    rec.server || rec.tool ? `${rec.server ?? "?"}/${rec.tool ?? rec.uri ?? "?"}` : (rec.method ?? "-");
  const mode = rec.effectiveMode ? ` [${rec.effectiveMode}]` : "";
  const why = rec.reasons?.length ? ` — ${rec.reasons.join("; ")}` : "";
  const stage = rec.stage ? ` by ${rec.stage}` : "";
  return `${rec.ts} #${rec.seq} ${rec.event} ${rec.decision ?? rec.outcome ?? ""}${stage}${mode} ${who} ${what}${why}`.replace(
    / +/g,
    " ",
  );
}

function parse(line: string): AuditRecord | undefined {
  try {
    return JSON.parse(line) as AuditRecord;
  } catch {
    return undefined;
  }
}

export interface TailOptions {
  lines: number;
  filters: RecordFilter[];
  json: boolean;
  follow: boolean;
  write(line: string): void;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Prints the last `lines` matching records, then (with follow) new ones as they are committed. */
export async function tailLedger(file: string, opts: TailOptions): Promise<void> {
  const last: string[] = [];
  const emit = (line: string) => {
    const rec = parse(line);
    if (!rec || !matches(rec, opts.filters)) return;
    opts.write(opts.json ? line : formatRecord(rec));
  };
  // One handle for the initial read and for following, so no record falls between the two.
  let fh = await open(file, "r");
  const initial = await fh.readFile();
  const lastNl = initial.lastIndexOf(0x0a);
  let pos = lastNl + 1;
  let partial = "";
  for (const line of initial.subarray(0, pos).toString("utf8").split("\n")) {
    if (!line) continue;
    const rec = parse(line);
    if (!rec || !matches(rec, opts.filters)) continue;
    last.push(line);
    if (last.length > opts.lines) last.shift();
  }
  for (const l of last) emit(l);
  if (!opts.follow) {
    await fh.close();
    return;
  }
  // Follow by file handle: after a rotation the old handle still reaches the renamed file, so
  // records committed just before the rename are drained before switching to the new file.
  const drain = async () => {
    const { size } = await fh.stat();
    if (size <= pos) return;
    const buf = Buffer.alloc(size - pos);
    await fh.read(buf, 0, buf.length, pos);
    pos = size;
    const parts = (partial + buf.toString("utf8")).split("\n");
    partial = parts.pop() ?? "";
    for (const l of parts) if (l) emit(l);
  };
  try {
    while (!opts.signal?.aborted) {
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
      await drain();
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(file);
      } catch {
        continue; // between rotation's rename and the new file
      }
      if (st.ino !== (await fh.stat()).ino) {
        await drain();
        await fh.close();
        fh = await open(file, "r");
        pos = 0;
        partial = "";
        await drain();
      }
    }
  } finally {
    await fh.close();
  }
}
