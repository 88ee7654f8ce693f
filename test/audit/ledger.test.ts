import { spawn } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuditLedger } from "../../src/audit/ledger.js";
import { type AuditRecord, argumentsHmac, GENESIS_HASH } from "../../src/audit/record.js";
import { ledgerAuditSink } from "../../src/audit/sink.js";
import { formatRecord, parseFilter, tailLedger } from "../../src/audit/tail.js";
import { verifyLedger } from "../../src/audit/verify.js";

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), "warden-audit-"));
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).split("\n").filter(Boolean);
}

async function writeRecords(
  path: string,
  n: number,
  opts: Partial<Parameters<typeof AuditLedger.open>[0]> = {},
  sequential = false,
) {
  const ledger = await AuditLedger.open({ path, durability: "write", ...opts });
  const entry = (i: number) => ({
    event: "decision",
    tool: `t${i}`,
    decision: "allow",
    subject: { user: "u", tenant: "t", authMethod: "stdio" },
  });
  if (sequential) for (let i = 0; i < n; i++) await ledger.append(entry(i));
  else await Promise.all(Array.from({ length: n }, (_, i) => ledger.append(entry(i))));
  await ledger.close();
}

describe("audit ledger", () => {
  it("writes a verifiable hash chain of JSON lines", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeRecords(path, 50);
    const ls = await lines(path);
    expect(ls).toHaveLength(51); // start record + 50
    const first = JSON.parse(ls[0]) as AuditRecord;
    expect(first).toMatchObject({ v: 1, seq: 0, event: "start", prev: GENESIS_HASH });
    const second = JSON.parse(ls[1]) as AuditRecord;
    expect(second.prev).toBe(first.hash);
    const r = await verifyLedger([path]);
    expect(r).toMatchObject({ ok: true, records: 51, firstSeq: 0, lastSeq: 50, anchored: true });
  });

  it("reports an edited record as altered", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeRecords(path, 10);
    const ls = await lines(path);
    ls[4] = ls[4].replace('"decision":"allow"', '"decision":"deny"');
    await writeFile(path, `${ls.join("\n")}\n`);
    const r = await verifyLedger([path]);
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ kind: "altered", line: 5, seq: 4 });
    expect(r.records).toBe(4);
  });

  it("reports a re-hashed edit as a broken chain", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeRecords(path, 10);
    const ls = await lines(path);
    const rec = JSON.parse(ls[4]) as Record<string, unknown>;
    rec.decision = "deny";
    const { hash: _h, ...rest } = rec;
    const { recordHash } = await import("../../src/audit/record.js");
    rec.hash = recordHash(rest);
    ls[4] = JSON.stringify(rec);
    await writeFile(path, `${ls.join("\n")}\n`);
    const r = await verifyLedger([path]);
    expect(r.problem).toMatchObject({ kind: "chain_broken", seq: 5 });
  });

  it("reports a deleted record as missing and swapped records as reordered", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeRecords(path, 10);
    const ls = await lines(path);
    await writeFile(path, `${[...ls.slice(0, 3), ...ls.slice(4)].join("\n")}\n`);
    const missing = await verifyLedger([path]);
    expect(missing.problem).toMatchObject({ kind: "missing", seq: 3, line: 4 });
    expect(missing.problem?.message).toMatch(/record seq 3 is missing before seq 4/);
    const swapped = [...ls];
    [swapped[6], swapped[7]] = [swapped[7], swapped[6]];
    await writeFile(path, `${swapped.join("\n")}\n`);
    const reordered = await verifyLedger([path]);
    expect(reordered.problem).toMatchObject({ kind: "reordered", seq: 7, line: 7 });
  });

  it("continues the chain across restarts and rotations", async () => {
    const dir = await tmp();
    const path = join(dir, "audit.jsonl");
    // One batch per append (sequential) so rotation, checked after each batch, happens often.
    await writeRecords(path, 0, { rotateBytes: 1_000 }, true);
    await writeRecords(path, 15, { rotateBytes: 1_000 }, true);
    await writeRecords(path, 15, { rotateBytes: 1_000 }, true);
    const files = (await readdir(dir)).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(3);
    // Any order: verify sorts files by sequence.
    const r = await verifyLedger([...files].reverse());
    expect(r.ok).toBe(true);
    const all = (await Promise.all(files.map(lines))).flat();
    expect(r.records).toBe(all.length);
    expect(all.filter((l) => l.includes('"event":"rotate"')).length).toBe(files.length - 1);
    // Dropping a whole rotated file is detected.
    const sorted = r.files;
    const withoutMiddle = sorted.filter((_, i) => i !== 1);
    expect((await verifyLedger(withoutMiddle)).problem?.kind).toBe("missing");
    // The newest files alone verify, anchored on a file not given.
    const tailOnly = await verifyLedger(sorted.slice(-2));
    expect(tailOnly).toMatchObject({ ok: true, anchored: false });
  });

  it("cuts a torn final line (a crash mid-write) and continues the chain", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeRecords(path, 5);
    await appendFile(path, '{"v":1,"ts":"2026-01-01T00:00:00.000Z","seq":6,"eve');
    const ledger = await AuditLedger.open({ path, durability: "write" });
    expect(ledger.recoveredTornBytes).toBeGreaterThan(0);
    await ledger.append({ event: "decision" });
    await ledger.close();
    const r = await verifyLedger([path]);
    expect(r.ok).toBe(true);
    expect(r.records).toBe(8);
  });

  it("keeps every acknowledged record when warden is killed (SIGKILL) mid-stream", async () => {
    const path = join(await tmp(), "audit.jsonl");
    const script = `
      import { AuditLedger } from ${JSON.stringify(new URL("../../src/audit/ledger.ts", import.meta.url).pathname)};
      const ledger = await AuditLedger.open({ path: ${JSON.stringify(path)}, durability: "fsync" });
      let i = 0;
      for (;;) {
        const batch = [];
        for (let k = 0; k < 50; k++) batch.push(ledger.append({ event: "decision", tool: "t" + i++ }));
        const recs = await Promise.all(batch);
        process.stdout.write("acked " + recs[recs.length - 1].seq + "\\n");
      }
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let lastAcked = -1;
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        const m = [...d.toString().matchAll(/acked (\d+)/g)];
        if (m.length) lastAcked = Number(m[m.length - 1][1]);
        if (lastAcked >= 500) {
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    await new Promise((r) => child.once("exit", r));
    const ledger = await AuditLedger.open({ path, durability: "write" });
    await ledger.close();
    const r = await verifyLedger([path]);
    expect(r.ok).toBe(true);
    expect(r.lastSeq).toBeGreaterThan(lastAcked);
  });

  it("refuses to continue a ledger whose last record is unreadable", async () => {
    const path = join(await tmp(), "audit.jsonl");
    await writeFile(path, "garbage line\n");
    await expect(AuditLedger.open({ path })).rejects.toThrow(/last record is unreadable/);
  });

  it("hashes arguments with a key and stores raw arguments never by default", async () => {
    expect(argumentsHmac("k1", { b: 1, a: 2 })).toBe(argumentsHmac("k1", { a: 2, b: 1 }));
    expect(argumentsHmac("k1", { a: 1 })).not.toBe(argumentsHmac("k2", { a: 1 }));
  });

  it("takes events from other areas through the AuditSink adapter", async () => {
    const path = join(await tmp(), "audit.jsonl");
    const ledger = await AuditLedger.open({ path, durability: "write" });
    await ledgerAuditSink(ledger).write({
      event: "auth.failed",
      time: "x",
      reason: "no_credential",
      tool: "t",
    });
    await ledger.close();
    const rec = JSON.parse((await lines(path))[1]) as AuditRecord;
    expect(rec).toMatchObject({
      event: "auth.failed",
      tool: "t",
      detail: { reason: "no_credential", time: "x" },
    });
  });
});

describe("audit tail", () => {
  it("filters and formats records for people", async () => {
    const path = join(await tmp(), "audit.jsonl");
    const ledger = await AuditLedger.open({ path, durability: "write" });
    await ledger.append({
      event: "decision",
      decision: "allow",
      server: "fs",
      tool: "read_file",
      subject: { user: "alice", tenant: "acme", authMethod: "api_key" },
    });
    await ledger.append({
      event: "refusal",
      decision: "deny",
      stage: "policy",
      reasons: ["dangerous argument"],
      server: "fs",
      tool: "write_file",
      effectiveMode: "enforce",
      subject: { user: "bob", tenant: "acme", authMethod: "api_key" },
    });
    await ledger.close();
    const out: string[] = [];
    await tailLedger(path, {
      lines: 10,
      filters: [parseFilter("user=b*"), parseFilter("event=refusal")],
      json: false,
      follow: false,
      write: (l) => out.push(l),
    });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /#2 refusal deny by policy \[enforce\] acme\/bob fs\/write_file — dangerous argument/,
    );
    expect(() => parseFilter("nonsense")).toThrow(/key=value/);
    const rec = JSON.parse((await lines(path))[1]) as AuditRecord;
    expect(formatRecord(rec)).toContain("acme/alice fs/read_file");
  });

  it("follows new records, across a rotation", async () => {
    const path = join(await tmp(), "audit.jsonl");
    const ledger = await AuditLedger.open({ path, durability: "write", rotateBytes: 1_500 });
    const out: string[] = [];
    const ac = new AbortController();
    const done = tailLedger(path, {
      lines: 100,
      filters: [parseFilter("event=decision")],
      json: true,
      follow: true,
      write: (l) => out.push(l),
      signal: ac.signal,
      pollMs: 20,
    });
    for (let i = 0; i < 20; i++) {
      await ledger.append({ event: "decision", tool: `t${i}` });
      await new Promise((r) => setTimeout(r, 30));
    }
    await expect.poll(() => out.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(20);
    ac.abort();
    await done;
    await ledger.close();
    expect(out.map((l) => (JSON.parse(l) as AuditRecord).tool)).toEqual(
      Array.from({ length: 20 }, (_, i) => `t${i}`),
    );
  });
});
