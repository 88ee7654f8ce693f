// Verifies a ledger (one or more files, rotated ones included): every record's hash, the chain
// of prev hashes and the sequence. Reports the first altered, missing or reordered record.
import { readFile } from "node:fs/promises";
import { type AuditRecord, GENESIS_HASH, recordHash } from "./record.js";

export type VerifyProblemKind =
  | "malformed"
  | "altered"
  | "missing"
  | "reordered"
  | "chain_broken"
  | "duplicate";

export interface VerifyProblem {
  kind: VerifyProblemKind;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  seq?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  files: string[];
  records: number;
  firstSeq?: number;
  lastSeq?: number;
  /** Hash of the last verified record: keep it elsewhere to detect later truncation. */
  headHash?: string;
  /** True when the first record is the ledger's genesis (seq 0); otherwise the chain is anchored on an earlier file not given. */
  anchored: boolean;
  problem?: VerifyProblem;
}

interface ParsedLine {
  file: string;
  line: number;
  raw: string;
  record?: AuditRecord;
  error?: string;
}

async function parseFile(file: string): Promise<ParsedLine[]> {
  const text = await readFile(file, "utf8");
  const out: ParsedLine[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    try {
      const record = JSON.parse(raw) as AuditRecord;
      if (typeof record !== "object" || record === null || typeof record.seq !== "number")
        throw new Error("not an audit record");
      out.push({ file, line: i + 1, raw, record });
    } catch (err) {
      out.push({ file, line: i + 1, raw, error: (err as Error).message });
    }
  }
  return out;
}

/** Verifies files in chain order; the order given does not matter (files are sorted by first sequence number). */
export async function verifyLedger(files: readonly string[]): Promise<VerifyResult> {
  const parsed = await Promise.all(files.map(parseFile));
  const order = parsed
    .map((lines, i) => ({
      file: files[i],
      lines,
      first: lines.find((l) => l.record)?.record?.seq ?? Infinity,
    }))
    .sort((a, b) => a.first - b.first);
  const result: VerifyResult = { ok: true, files: order.map((o) => o.file), records: 0, anchored: false };
  let expectedSeq: number | undefined;
  let prevHash: string | undefined;
  const fail = (p: VerifyProblem): VerifyResult => ({ ...result, ok: false, problem: p });

  const all = order.flatMap((o) => o.lines);
  for (let i = 0; i < all.length; i++) {
    {
      const l = all[i];
      const at = `${l.file}:${l.line}`;
      if (!l.record)
        return fail({
          kind: "malformed",
          file: l.file,
          line: l.line,
          message: `${at}: not a valid audit record (${l.error})`,
        });
      const rec = l.record;
      const { hash, ...rest } = rec;
      if (typeof hash !== "string" || recordHash(rest) !== hash)
        return fail({
          kind: "altered",
          file: l.file,
          line: l.line,
          seq: rec.seq,
          message: `${at}: record seq ${rec.seq} was altered (its hash does not match its content)`,
        });
      if (expectedSeq === undefined) {
        result.firstSeq = rec.seq;
        result.anchored = rec.seq === 0;
        if (rec.seq === 0 && rec.prev !== GENESIS_HASH)
          return fail({
            kind: "chain_broken",
            file: l.file,
            line: l.line,
            seq: 0,
            message: `${at}: first record does not start from the genesis hash`,
          });
      } else {
        if (rec.seq > expectedSeq) {
          const want = expectedSeq;
          const later = all.slice(i + 1).find((x) => x.record?.seq === want);
          if (later)
            return fail({
              kind: "reordered",
              file: l.file,
              line: l.line,
              seq: rec.seq,
              message: `${at}: record seq ${rec.seq} is out of order (seq ${want} comes later, at ${later.file}:${later.line})`,
            });
          const gap =
            rec.seq - expectedSeq === 1
              ? `record seq ${expectedSeq} is`
              : `records seq ${expectedSeq}..${rec.seq - 1} are`;
          return fail({
            kind: "missing",
            file: l.file,
            line: l.line,
            seq: expectedSeq,
            message: `${at}: ${gap} missing before seq ${rec.seq}`,
          });
        }
        if (rec.seq === expectedSeq - 1 && rec.hash === prevHash)
          return fail({
            kind: "duplicate",
            file: l.file,
            line: l.line,
            seq: rec.seq,
            message: `${at}: record seq ${rec.seq} appears twice`,
          });
        if (rec.seq < expectedSeq)
          return fail({
            kind: "reordered",
            file: l.file,
            line: l.line,
            seq: rec.seq,
            message: `${at}: record seq ${rec.seq} is out of order (expected seq ${expectedSeq})`,
          });
        if (rec.prev !== prevHash)
          return fail({
            kind: "chain_broken",
            file: l.file,
            line: l.line,
            seq: rec.seq,
            message: `${at}: record seq ${rec.seq} does not chain to the record before it (replaced or re-hashed)`,
          });
      }
      expectedSeq = rec.seq + 1;
      prevHash = hash;
      result.records++;
      result.lastSeq = rec.seq;
      result.headHash = hash;
    }
  }
  return result;
}
