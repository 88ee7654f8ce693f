// Test helpers: compile the C escape programs to wasm32-wasi with Debian's clang, and
// build a scratch directory with the symlinks the escape attempts aim for.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, "..", "..");
const cacheDir = join(tmpdir(), "warden-test-wasm");

/** Compiles a C file (path relative to the repo) to a .wasm, cached by content; fails loudly without clang. */
export function compileC(relPath: string): string {
  const src = join(repoRoot, relPath);
  const hash = createHash("sha256").update(readFileSync(src)).digest("hex").slice(0, 16);
  const out = join(cacheDir, `${relPath.replace(/[/\\]/g, "_")}-${hash}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-o", tmp, src], { stdio: "pipe" });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(
      `cannot compile ${relPath} to wasm32-wasi (needs apt packages clang lld wasi-libc libclang-rt-dev-wasm32): ${e.stderr?.toString() ?? e.message}`,
    );
  }
  renameSync(tmp, out);
  return out;
}

/** A scratch dir: data/allowed.txt, data/subdir, symlinks out to /etc, and a sibling secret file. */
export function makeScratch(): { root: string; data: string; secret: string } {
  const root = mkdtempSync(join(tmpdir(), "warden-sandbox-"));
  const data = join(root, "data");
  mkdirSync(join(data, "subdir"), { recursive: true });
  writeFileSync(join(data, "allowed.txt"), "allowed content\n");
  const secret = join(root, "secret.txt");
  writeFileSync(secret, "TOP-SECRET-SIBLING\n");
  symlinkSync("/etc/passwd", join(data, "link-to-passwd"));
  symlinkSync("/etc", join(data, "link-to-etc"));
  symlinkSync("../secret.txt", join(data, "link-to-sibling"));
  return { root, data, secret };
}

/** A sandbox cache dir shared by the test files, so the QuickJS build happens once per run. */
export const testCacheDir = join(tmpdir(), "warden-test-sandbox-cache");
