// Coalesces the messages produced while handling one batch of I/O into a single write.
// A burst of concurrent calls (or answers) then costs one write syscall, not one each: the
// flush runs in the event loop's check phase, after every ready read has been handled and the
// promise chains it started have settled, so it adds no timer delay.
//
// Large strings are encoded into reused scratch buffers. Writing a 256 KB string (or
// Buffer.from of it) costs ~2.5 ms here, nearly all of it allocating fresh memory for the
// bytes; encoding into memory that is already mapped costs ~15 µs.

/** Above this many queued bytes the chunks are written as they are (writev), not copied into one. */
const JOIN_LIMIT = 64 * 1024;
/** Strings at least this long are encoded into a scratch buffer. */
const SCRATCH_MIN = 16 * 1024;
/** Scratch buffers kept for reuse (per writer) and the largest one kept. */
const SCRATCH_KEEP = 4;
const SCRATCH_MAX = 16 * 1024 * 1024;

export interface ByteSink {
  write(chunk: string | Buffer, callback?: (err?: Error | null) => void): unknown;
  cork?(): void;
  uncork?(): void;
}

export type BatchedWrite = (chunk: string | Buffer) => void;

export function batchedWriter(sink: ByteSink): BatchedWrite {
  let queue: Array<string | Buffer> = [];
  let bytes = 0;
  let strings = true;
  let scheduled = false;
  const free: Buffer[] = [];

  /** Writes a large string through a scratch buffer, returned to the pool once written. */
  const writeLargeString = (s: string) => {
    const need = Buffer.byteLength(s);
    const i = free.findIndex((b) => b.length >= need);
    if (i === -1 && need > SCRATCH_MAX) {
      sink.write(s);
      return;
    }
    const scratch =
      i === -1
        ? Buffer.allocUnsafeSlow(Math.max(SCRATCH_MIN * 4, 2 ** Math.ceil(Math.log2(need))))
        : free.splice(i, 1)[0];
    const n = scratch.write(s);
    sink.write(scratch.subarray(0, n), () => {
      if (free.length < SCRATCH_KEEP) free.push(scratch);
    });
  };
  const writeOne = (c: string | Buffer) => {
    if (typeof c === "string" && c.length >= SCRATCH_MIN) writeLargeString(c);
    else sink.write(c);
  };

  const flush = () => {
    scheduled = false;
    const chunks = queue;
    queue = [];
    const total = bytes;
    bytes = 0;
    const allStrings = strings;
    strings = true;
    if (chunks.length === 1) writeOne(chunks[0]);
    else if (total <= JOIN_LIMIT && allStrings) writeOne(chunks.join(""));
    else if (total <= JOIN_LIMIT) {
      sink.write(Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c))));
    } else {
      sink.cork?.();
      for (const c of chunks) writeOne(c);
      sink.uncork?.();
    }
  };
  return (chunk) => {
    queue.push(chunk);
    bytes += chunk.length; // string length approximates bytes: only picks join vs writev
    if (typeof chunk !== "string") strings = false;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
