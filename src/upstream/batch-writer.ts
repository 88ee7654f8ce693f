// Coalesces the messages produced while handling one batch of I/O into a single write.
// A burst of concurrent calls (or answers) then costs one write syscall, not one each: the
// flush runs in the event loop's check phase, after every ready read has been handled and the
// promise chains it started have settled, so it adds no timer delay.

/** Above this many queued bytes the chunks are written as they are (writev), not copied into one. */
const JOIN_LIMIT = 64 * 1024;

export interface ByteSink {
  write(chunk: string | Buffer): unknown;
  cork?(): void;
  uncork?(): void;
}

export function batchedWriter(sink: ByteSink): (chunk: string | Buffer) => void {
  let queue: Array<string | Buffer> = [];
  let bytes = 0;
  let strings = true;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const chunks = queue;
    queue = [];
    const total = bytes;
    bytes = 0;
    const allStrings = strings;
    strings = true;
    if (chunks.length === 1) sink.write(chunks[0]);
    else if (total <= JOIN_LIMIT) {
      sink.write(
        allStrings
          ? chunks.join("")
          : Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c))),
      );
    } else {
      sink.cork?.();
      for (const c of chunks) sink.write(c);
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
