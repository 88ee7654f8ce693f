// Newline-delimited JSON framing for stdio transports (MCP stdio: one JSON-RPC message per line).

/**
 * Splits a byte stream into lines and hands each complete non-empty line to `online`.
 * Partial lines are kept as a list of chunks and joined once, when their newline arrives,
 * and only new bytes are searched: a large message costs one copy, not one per chunk.
 */
export function lineSplitter(online: (line: string) => void): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let partsLength = 0;
  return (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line: Buffer;
      if (partsLength > 0) {
        parts.push(chunk.subarray(start, nl));
        line = Buffer.concat(parts, partsLength + nl - start);
        parts = [];
        partsLength = 0;
      } else line = chunk.subarray(start, nl);
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > 0) online(line.toString("utf8", 0, end));
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      partsLength += chunk.length - start;
    }
  };
}

export function serialize(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}
