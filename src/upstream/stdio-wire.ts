// Spawns a stdio MCP server and frames its stdin/stdout as JSON-RPC lines.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import type { StdioServerConfig } from "../config/schema.js";
import { batchedWriter } from "./batch-writer.js";
import type { JsonRpcMessage } from "./jsonrpc.js";
import { lineBufferSplitter, lineSplitter, rawResultId, rawResultIdParts, serialize } from "./ndjson.js";
import { oversizeAnswer, oversizeProblem } from "./oversize.js";
import type { Wire } from "./wire.js";

/** Variables passed through to children; everything else must be set in the server's `env` (no secret leaks). */
const INHERITED_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TERM",
  "TMPDIR",
  "TEMP",
  "TMP",
  "LANG",
  "LC_ALL",
  "SystemRoot",
  "NODE_OPTIONS",
];

export function spawnStdioWire(
  name: string,
  cfg: StdioServerConfig,
  onStderr: (line: string) => void,
  warn: (msg: string) => void = onStderr,
): Promise<Wire> {
  for (const dir of cfg.createDirs) mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  Object.assign(env, cfg.env);
  const child = spawn(cfg.command, cfg.args, {
    cwd: cfg.cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
    windowsHide: true,
  });
  const write = batchedWriter(child.stdin);
  return new Promise((resolve, reject) => {
    let closed = false;
    const wire: Wire = {
      pid: child.pid,
      supportsRaw: true,
      send(message: JsonRpcMessage) {
        if (closed) return;
        // Messages produced while handling one batch of I/O (concurrent calls) go out in one write.
        write(serialize(message));
      },
      sendRaw(line: string | Buffer[]) {
        if (closed) return;
        if (typeof line === "string") write(line);
        else for (const piece of line) write(piece);
      },
      async close() {
        if (closed) return;
        closed = true;
        child.stdin.end();
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        const timer = setTimeout(() => child.kill("SIGTERM"), 1000);
        const hard = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
        clearTimeout(hard);
      },
    };
    const finish = (reason: string) => {
      if (closed) return;
      closed = true;
      wire.onclose?.(reason);
    };
    child.once("error", (err) => {
      finish(`server '${name}' could not start: ${err.message}`);
      reject(new Error(`server '${name}' could not start (${cfg.command}): ${err.message}`));
    });
    child.once("spawn", () => resolve(wire));
    child.once("exit", (code, signal) => finish(`server '${name}' exited (${signal ?? `code ${code}`})`));
    child.stdin.on("error", () => {}); // EPIPE when the child dies: reported through 'exit'.
    // A large result that arrived in several chunks is offered as those chunks, never joined.
    const onparts = (parts: Buffer[]): boolean => {
      if (!wire.onrawresult) return false;
      const hit = rawResultIdParts(parts);
      return hit !== undefined && wire.onrawresult(hit.id, parts, hit.idStart);
    };
    child.stdout.on(
      "data",
      lineBufferSplitter(
        (bytes) => {
          if (wire.onrawresult) {
            const hit = rawResultId(bytes);
            if (hit && wire.onrawresult(hit.id, bytes, hit.idStart)) return;
          }
          const line = bytes.toString("utf8");
          let msg: JsonRpcMessage;
          try {
            msg = JSON.parse(line);
          } catch {
            onStderr(`(non-JSON stdout) ${line.slice(0, 200)}`);
            return;
          }
          wire.onmessage?.(msg);
        },
        onparts,
        {
          maxBytes: cfg.maxAnswerBytes,
          // The line was skipped up to its newline: the pipe carries on with the next message.
          onoversize(bytes, id) {
            const problem = oversizeProblem(name, bytes, cfg.maxAnswerBytes);
            warn(`${problem}${id === undefined ? "" : ` (answer to request ${id}: failed)`}`);
            if (id !== undefined) wire.onmessage?.(oversizeAnswer(id, problem, cfg.maxAnswerBytes));
          },
        },
      ),
    );
    child.stderr.on("data", lineSplitter(onStderr));
  });
}
