// Source of the worker thread that runs one WASI preview1 command module per job, on a
// fresh instance. node:wasi is one layer only: this wrapper makes preopens read-only,
// refuses sockets, captures stdout/stderr with a byte cap and feeds stdin from memory.
// Kept as a string so it runs the same from src (tsx, vitest) and from dist.

export const PREVIEW1_WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { WASI } = require("node:wasi");
const { realpathSync } = require("node:fs");
const nodePath = require("node:path");

const ESUCCESS = 0, EBADF = 8, ENOENT = 44, ENOTSUP = 58, EROFS = 69, ENOTCAPABLE = 76;
const RIGHT_FD_WRITE = 1n << 6n, RIGHT_FD_ALLOCATE = 1n << 8n, RIGHT_FD_FILESTAT_SET_SIZE = 1n << 22n;
const O_CREAT = 1, O_EXCL = 4, O_TRUNC = 8;
const FDFLAG_APPEND = 1;
// Rights that let a descriptor change the file system.
const WRITE_RIGHTS =
  (1n << 0n) | (1n << 4n) | (1n << 6n) | (1n << 8n) | (1n << 9n) | (1n << 10n) | (1n << 11n) |
  (1n << 12n) | (1n << 16n) | (1n << 17n) | (1n << 19n) | (1n << 20n) | (1n << 22n) |
  (1n << 23n) | (1n << 24n) | (1n << 25n) | (1n << 26n);

class OutputLimit extends Error {}

function runJob(job) {
  const started = performance.now();
  let memory;
  const out = { 1: [], 2: [] };
  let outBytes = 0;
  let outputLimitHit = false;
  const stdin = job.stdin ? Buffer.from(job.stdin) : Buffer.alloc(0);
  let stdinPos = 0;

  const wasi = new WASI({
    version: "preview1",
    args: job.args,
    env: job.env,
    preopens: job.preopens,
    returnOnExit: true,
  });
  const base = wasi.getImportObject().wasi_snapshot_preview1;

  // Host path and preopen root of every directory/file descriptor the guest holds. uvwasi
  // refuses a final symlink out of a preopen but follows intermediate ones
  // (/data/link-to-etc/passwd), so every path is resolved here and must stay in its root.
  const fdInfo = new Map();
  let nextFd = 3;
  for (const host of Object.values(job.preopens)) {
    fdInfo.set(nextFd++, { host, root: host });
  }
  const readPath = (ptr, len) => Buffer.from(new Uint8Array(memory.buffer, ptr, len)).toString("utf8");
  const inside = (root, p) => p === root || p.startsWith(root.endsWith("/") ? root : root + "/");
  // Returns [errno, resolvedHostPath].
  function confine(fd, pathPtr, pathLen) {
    const info = fdInfo.get(fd);
    if (!info) return [EBADF, null];
    const guest = readPath(pathPtr, pathLen);
    if (guest.includes("\\u0000")) return [ENOTCAPABLE, null];
    const candidate = nodePath.resolve(info.host, guest);
    if (!inside(info.root, candidate)) return [ENOTCAPABLE, null];
    // Resolve the longest existing prefix, so a missing file behind an escaping symlink
    // is refused too (rather than telling the guest what exists outside).
    let probe = candidate;
    let missing = false;
    for (;;) {
      try {
        const real = realpathSync(probe);
        if (!inside(info.root, real)) return [ENOTCAPABLE, null];
        return missing ? [ENOENT, null] : [ESUCCESS, real];
      } catch (err) {
        if (!err || err.code !== "ENOENT" || probe === info.root) return [ENOTCAPABLE, null];
        missing = true;
        probe = nodePath.dirname(probe);
      }
    }
  }
  const view = () => new DataView(memory.buffer);
  const erofs = () => EROFS;
  const wrapped = {
    ...base,
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (fd !== 1 && fd !== 2) return fd > 2 ? EROFS : EBADF;
      const dv = view();
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        if (outBytes + len > job.maxOutputBytes) {
          const room = job.maxOutputBytes - outBytes;
          if (room > 0) out[fd].push(Buffer.from(new Uint8Array(memory.buffer, ptr, room)));
          outBytes = job.maxOutputBytes;
          outputLimitHit = true;
          throw new OutputLimit("output limit");
        }
        out[fd].push(Buffer.from(new Uint8Array(memory.buffer, ptr, len)));
        outBytes += len;
        total += len;
      }
      dv.setUint32(nwrittenPtr, total, true);
      return ESUCCESS;
    },
    fd_read(fd, iovs, iovsLen, nreadPtr) {
      if (fd !== 0) return base.fd_read(fd, iovs, iovsLen, nreadPtr);
      const dv = view();
      let total = 0;
      for (let i = 0; i < iovsLen && stdinPos < stdin.length; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        const n = Math.min(len, stdin.length - stdinPos);
        new Uint8Array(memory.buffer, ptr, n).set(stdin.subarray(stdinPos, stdinPos + n));
        stdinPos += n;
        total += n;
      }
      dv.setUint32(nreadPtr, total, true);
      return ESUCCESS;
    },
    path_open(fd, dirflags, pathPtr, pathLen, oflags, rightsBase, rightsInheriting, fdflags, fdPtr) {
      if (oflags & (O_CREAT | O_EXCL | O_TRUNC)) return EROFS;
      if (fdflags & FDFLAG_APPEND) return EROFS;
      const wanted = BigInt.asUintN(64, BigInt(rightsBase));
      if (wanted & (RIGHT_FD_WRITE | RIGHT_FD_ALLOCATE | RIGHT_FD_FILESTAT_SET_SIZE)) return EROFS;
      const [errno, real] = confine(fd, pathPtr, pathLen);
      if (errno !== ESUCCESS) return errno;
      const ro = (r) => BigInt.asUintN(64, BigInt(r)) & ~WRITE_RIGHTS;
      const rc = base.path_open(fd, dirflags, pathPtr, pathLen, oflags, ro(rightsBase), ro(rightsInheriting), fdflags, fdPtr);
      if (rc === ESUCCESS) {
        const opened = view().getUint32(fdPtr, true);
        if (real) fdInfo.set(opened, { host: real, root: fdInfo.get(fd).root });
        else fdInfo.delete(opened);
      }
      return rc;
    },
    path_filestat_get(fd, flags, pathPtr, pathLen, bufPtr) {
      const [errno] = confine(fd, pathPtr, pathLen);
      return errno !== ESUCCESS ? errno : base.path_filestat_get(fd, flags, pathPtr, pathLen, bufPtr);
    },
    path_readlink(fd, pathPtr, pathLen, buf, bufLen, usedPtr) {
      const info = fdInfo.get(fd);
      if (!info) return EBADF;
      if (!inside(info.root, nodePath.resolve(info.host, readPath(pathPtr, pathLen)))) return ENOTCAPABLE;
      return base.path_readlink(fd, pathPtr, pathLen, buf, bufLen, usedPtr);
    },
    fd_close(fd) {
      const rc = base.fd_close(fd);
      if (rc === ESUCCESS) fdInfo.delete(fd);
      return rc;
    },
    fd_renumber(from, to) {
      const rc = base.fd_renumber(from, to);
      if (rc === ESUCCESS) {
        const info = fdInfo.get(from);
        fdInfo.delete(from);
        if (info) fdInfo.set(to, info);
        else fdInfo.delete(to);
      }
      return rc;
    },
    fd_pwrite: erofs,
    fd_allocate: erofs,
    fd_filestat_set_size: erofs,
    fd_filestat_set_times: erofs,
    path_filestat_set_times: erofs,
    path_create_directory: erofs,
    path_link: erofs,
    path_remove_directory: erofs,
    path_rename: erofs,
    path_symlink: erofs,
    path_unlink_file: erofs,
    sock_accept: () => ENOTSUP,
    sock_recv: () => ENOTSUP,
    sock_send: () => ENOTSUP,
    sock_shutdown: () => ENOTSUP,
    sock_open: () => ENOTSUP,
    sock_connect: () => ENOTSUP,
  };

  let exitCode = null;
  let trap = null;
  try {
    const instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: wrapped });
    memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory) || typeof instance.exports._start !== "function") {
      trap = "not a WASI command module (needs exported memory and _start)";
    } else {
      exitCode = wasi.start(instance);
    }
  } catch (err) {
    if (!(err instanceof OutputLimit)) trap = String((err && err.message) || err);
  }
  const memoryBytes = memory ? memory.buffer.byteLength : 0;
  return {
    exitCode,
    trap,
    outputLimitHit,
    stdout: Buffer.concat(out[1]).toString("utf8"),
    stderr: Buffer.concat(out[2]).toString("utf8"),
    memoryBytes,
    // malloc grows in chunks, so "within 1 MiB of the cap" means the cap stopped it.
    memoryLimitReached: memoryBytes >= job.maxMemoryBytes - 1048576,
    wallMs: performance.now() - started,
  };
}

parentPort.on("message", (msg) => {
  if (msg.type !== "job") return;
  let result;
  try {
    result = runJob(msg.job);
  } catch (err) {
    result = { setupError: String((err && err.message) || err) };
  }
  parentPort.postMessage(result);
});
parentPort.postMessage({ type: "ready" });
`;
