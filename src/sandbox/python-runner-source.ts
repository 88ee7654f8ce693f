// Source of the confined child process that runs one Python call with pyodide and exits.
// It is written to the cache directory and started as
//   unshare -rn env -i node --experimental-permission --allow-fs-read=<pyodide> --allow-fs-read=<dir> runner.mjs
// so even Python code that reaches the JavaScript side (`import js`) finds no network, no
// writable files, no child processes and an empty environment. Protocol on stdio: the child
// prints {"ready":true} once loaded, reads one job line, prints one result line, exits.

export const PYTHON_RUNNER_SOURCE = `
const realBinding = process.binding;
// pyodide asks for process.binding('constants'), which the permission model refuses.
process.binding = (name) =>
  name === "constants" ? { os: { signals: {}, errno: {} }, fs: {}, crypto: {}, zlib: {}, trace: {} } : realBinding.call(process, name);

const indexURL = process.argv[2];
const send = (obj) => process.stdout.write(JSON.stringify(obj) + "\\n");

const out = [];
const err = [];
let outBytes = 0;
let maxOutputBytes = Infinity;
const capture = (sink) => (line) => {
  outBytes += Buffer.byteLength(line) + 1;
  if (outBytes > maxOutputBytes) {
    send({ outputLimit: true, stdout: out.join("\\n"), stderr: err.join("\\n") });
    process.exit(0);
  }
  sink.push(line);
};

const { loadPyodide } = await import(indexURL + "/pyodide.mjs");
const { readFileSync, writeFileSync } = await import("node:fs");
const mode = process.argv[3];
const snapshotPath = process.argv[4];
if (mode === "make-snapshot") {
  // Bootstrap only (no user code), then save the memory image children start from.
  const boot = await loadPyodide({ indexURL: indexURL + "/", _makeSnapshot: true, env: {} });
  writeFileSync(snapshotPath, boot.makeMemorySnapshot());
  process.exit(0);
}
const py = await loadPyodide({
  indexURL: indexURL + "/",
  stdout: capture(out),
  stderr: capture(err),
  env: {},
  ...(mode === "from-snapshot" ? { _loadSnapshot: readFileSync(snapshotPath) } : {}),
});
py.runPython(\`
import json as _json, sys as _sys, traceback as _traceback
from pyodide.code import eval_code as _eval_code

class _Blocked:
    # Python code has no business with the JavaScript side: refuse the bridges by name.
    _names = {"js", "pyodide_js", "pyodide", "_pyodide", "pyodide.ffi", "pyodide.code", "pyodide.http"}
    def find_spec(self, name, path=None, target=None):
        if name in self._names or name.split(".")[0] in self._names:
            raise ImportError(f"module {name!r} is not available in the sandbox")
        return None

def _warden_run(code):
    for name in list(_sys.modules):
        if name.split(".")[0] in _Blocked._names:
            del _sys.modules[name]
    _sys.meta_path.insert(0, _Blocked())
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        value = _eval_code(code, ns)
    except BaseException as e:
        te = _traceback.TracebackException.from_exception(e)
        # Keep only the caller's frames: pyodide's and the runner's are noise to them.
        te.stack = _traceback.StackSummary.from_list(
            [f for f in te.stack if f.filename == "<exec>" and f.name != "_warden_run"])
        return _json.dumps({"error": "".join(te.format()).strip(), "oom": isinstance(e, MemoryError)})
    try:
        return _json.dumps({"result": value})
    except Exception:
        return _json.dumps({"result": repr(value)})
\`);
const run = py.globals.get("_warden_run");
// Warm the call path (wasm functions compile lazily on first use) before saying ready, so
// the caller's code does not pay for it. No user code has run yet; nothing here persists.
py.runPython(\`
try:
    _json.dumps(_eval_code("(lambda d: sum(v * v for v in d.values()))({'a': 1})", {"__name__": "__warmup__"}))
    _eval_code("1 / 0", {"__name__": "__warmup__"})
except ZeroDivisionError as _e:
    "".join(_traceback.TracebackException.from_exception(_e).format())
\`);
send({ ready: true });

let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buf += chunk;
  const nl = buf.indexOf("\\n");
  if (nl < 0) return;
  process.stdin.pause();
  const job = JSON.parse(buf.slice(0, nl));
  maxOutputBytes = job.maxOutputBytes;
  const started = performance.now();
  let reply;
  try {
    reply = JSON.parse(run(job.code));
  } catch (e) {
    reply = { error: String((e && e.message) || e), oom: /memory/i.test(String(e)) };
  }
  send({ ...reply, stdout: out.join("\\n"), stderr: err.join("\\n"), runMs: performance.now() - started });
  process.exit(0);
});
`;
