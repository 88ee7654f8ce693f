// Newline-delimited JSON framing for stdio transports (MCP stdio: one JSON-RPC message per line).

/** Splits a byte stream into lines and hands each complete non-empty line to `online`. */
export function lineSplitter(online: (line: string) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk: Buffer) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      if (end > start) online(buf.toString("utf8", start, end));
      start = nl + 1;
    }
    if (start < buf.length) {
      buf = buf.subarray(start);
      // Copy so a large retained chunk does not pin its whole parent buffer.
      pending = start > 0 ? Buffer.from(buf) : buf;
    } else pending = undefined;
  };
}

export function serialize(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}
