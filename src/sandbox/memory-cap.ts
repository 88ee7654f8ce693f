// Rewrites the maximum of every memory a core wasm module defines or imports, so the
// module cannot grow past a per-call cap. Worker resourceLimits do not cover wasm
// memory, so this is the memory limit that actually holds.

export const WASM_PAGE_BYTES = 65_536;

export class MemoryCapError extends Error {
  override name = "MemoryCapError";
}

function readU32(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new MemoryCapError("truncated LEB128 in wasm module");
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 35) throw new MemoryCapError("LEB128 too long in wasm module");
  }
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

function skipName(bytes: Uint8Array, pos: number): number {
  const [len, p] = readU32(bytes, pos);
  return p + len;
}

/** Re-encodes one memory type (limits) with `max = min(declared max, capPages)`. */
function capLimits(bytes: Uint8Array, pos: number, capPages: number, out: number[]): number {
  const flags = bytes[pos++];
  if (flags & 0x04) throw new MemoryCapError("64-bit memories are not supported by the sandbox");
  const [min, p1] = readU32(bytes, pos);
  pos = p1;
  let max = capPages;
  if (flags & 0x01) {
    const [declared, p2] = readU32(bytes, pos);
    pos = p2;
    max = Math.min(declared, capPages);
  }
  if (min > capPages) {
    throw new MemoryCapError(
      `module needs at least ${min} memory pages (${(min * WASM_PAGE_BYTES) / 2 ** 20} MiB) but the limit is ${capPages} pages`,
    );
  }
  out.push(flags | 0x01, ...writeU32(min), ...writeU32(max));
  return pos;
}

function rewriteMemorySection(bytes: Uint8Array, capPages: number): number[] {
  const out: number[] = [];
  let [count, pos] = readU32(bytes, 0);
  out.push(...writeU32(count));
  while (count-- > 0) pos = capLimits(bytes, pos, capPages, out);
  return out;
}

function rewriteImportSection(bytes: Uint8Array, capPages: number): number[] {
  const out: number[] = [];
  let [count, pos] = readU32(bytes, 0);
  out.push(...writeU32(count));
  while (count-- > 0) {
    const start = pos;
    pos = skipName(bytes, pos);
    pos = skipName(bytes, pos);
    const kind = bytes[pos++];
    for (let i = start; i < pos; i++) out.push(bytes[i]);
    if (kind === 0x02) {
      pos = capLimits(bytes, pos, capPages, out);
      continue;
    }
    const descStart = pos;
    if (kind === 0x00) [, pos] = readU32(bytes, pos);
    else if (kind === 0x01) {
      pos++; // reftype
      const flags = bytes[pos++];
      [, pos] = readU32(bytes, pos);
      if (flags & 0x01) [, pos] = readU32(bytes, pos);
    } else if (kind === 0x03) pos += 2;
    else if (kind === 0x04)
      [, pos] = readU32(bytes, pos + 1); // tag: attribute + type index
    else throw new MemoryCapError(`unknown import kind ${kind}`);
    for (let i = descStart; i < pos; i++) out.push(bytes[i]);
  }
  return out;
}

/**
 * Returns a copy of a core module whose memories cannot grow beyond `capPages`.
 * Throws MemoryCapError for a module that is not a core module or needs more at start.
 */
export function capModuleMemory(module: Uint8Array, capPages: number): Uint8Array {
  if (
    module.length < 8 ||
    module[0] !== 0 ||
    module[1] !== 0x61 ||
    module[2] !== 0x73 ||
    module[3] !== 0x6d
  ) {
    throw new MemoryCapError("not a wasm binary");
  }
  if (module[4] !== 1 || module[5] !== 0 || module[6] !== 0 || module[7] !== 0) {
    throw new MemoryCapError("not a core wasm module (a component? run it as a component)");
  }
  const chunks: Uint8Array[] = [module.subarray(0, 8)];
  let pos = 8;
  while (pos < module.length) {
    const id = module[pos];
    const [size, bodyStart] = readU32(module, pos + 1);
    const bodyEnd = bodyStart + size;
    if (bodyEnd > module.length) throw new MemoryCapError("truncated section in wasm module");
    if (id === 5 || id === 2) {
      const body = module.subarray(bodyStart, bodyEnd);
      const rewritten =
        id === 5 ? rewriteMemorySection(body, capPages) : rewriteImportSection(body, capPages);
      chunks.push(Uint8Array.from([id, ...writeU32(rewritten.length), ...rewritten]));
    } else {
      chunks.push(module.subarray(pos, bodyEnd));
    }
    pos = bodyEnd;
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    result.set(c, offset);
    offset += c.length;
  }
  return result;
}
