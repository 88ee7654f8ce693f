// Minimal reader for the ustar archives `opa build` writes (bundle.tar.gz): regular files only.
import { gunzipSync } from "node:zlib";

export function readTarGz(gz: Uint8Array): Map<string, Buffer> {
  return readTar(gunzipSync(gz));
}

function field(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString("utf8");
}

/** Files by normalized name (leading "/" and "./" removed). */
export function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = field(header, 0, 100);
    const size = Number.parseInt(field(header, 124, 12).trim() || "0", 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`corrupt tar header at offset ${off}`);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = header.subarray(257, 263).toString("latin1").startsWith("ustar")
      ? field(header, 345, 155)
      : "";
    const bodyStart = off + 512;
    const body = tar.subarray(bodyStart, bodyStart + size);
    if (body.length < size) throw new Error("truncated tar archive");
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0+$/, "");
    } else if (type === "0" || type === "\0") {
      const full = longName ?? (prefix ? `${prefix}/${name}` : name);
      files.set(full.replace(/^(\.\/|\/)+/, ""), Buffer.from(body));
      longName = undefined;
    } else {
      longName = undefined;
    }
    off = bodyStart + Math.ceil(size / 512) * 512;
  }
  return files;
}
