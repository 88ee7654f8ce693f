// Starts warden in front of the conformance fixture, over Streamable HTTP on 127.0.0.1.
//
// The suite calls tools and prompts by exact names (test_simple_text, json_schema_2020_12_tool),
// while warden exposes `<server><separator><name>`. Until warden has a per-server "no prefix"
// option, the names are re-created through real namespacing: separator "_", server `test`
// serving the fixture with the `test_` prefix stripped (simple_text → test_simple_text), and a
// second server `json` serving only the JSON-Schema tool with `json_` stripped.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { FIXTURE_PATH, REPO_ROOT, startWardenHttp, tsNode } from "../fixtures/servers/child-process.js";

export interface WardenUnderTest {
  url: string;
  /** How warden was started, for the report. */
  mode: string;
  close(): Promise<void>;
}

export interface WardenTestOptions {
  /** "shared" (default): one downstream connection for all client sessions; "per-session": one each. */
  isolation?: "shared" | "per-session";
  /** Answer POSTs with JSON bodies instead of SSE streams (warden's `http.jsonResponse`). */
  jsonResponse?: boolean;
}

export async function writeConformanceConfig(
  options: WardenTestOptions = {},
): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), "warden-conformance-"));
  const fixture = (extra: string[]) => {
    const { command, args } = tsNode(FIXTURE_PATH, ["--stdio", ...extra]);
    return { command, args, cwd: REPO_ROOT, isolation: options.isolation ?? "shared" };
  };
  const config = {
    environment: "conformance",
    servers: {
      test: fixture(["--strip-prefix", "test_"]),
      json: fixture(["--strip-prefix", "json_", "--only-tools", "json_schema_2020_12_tool"]),
    },
    namespace: { separator: "_" },
    registry: { dir: "registry" },
    // Serve's defaults (hash-chained audit ledger, metrics) stay on; the metrics listener gets an
    // ephemeral port so parallel runs never collide on 9464.
    metrics: { port: 0 },
    ...(options.jsonResponse && { http: { jsonResponse: true } }),
  };
  const file = join(dir, "warden.yaml");
  await writeFile(file, toYaml(config));
  await mkdir(join(dir, "registry"));
  await writeFile(
    join(dir, "registry", "conformance.yaml"),
    toYaml({ servers: { test: { tools: ["*"] }, json: { tools: ["*"] } } }),
  );
  return { dir, file };
}

/** `warden serve --http` as a child process, configured by writeConformanceConfig. */
export async function startWarden(options: WardenTestOptions = {}): Promise<WardenUnderTest> {
  const { dir, file } = await writeConformanceConfig(options);
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const running = await startWardenHttp(file);
    return {
      url: running.url,
      mode: "warden serve --http",
      close: async () => {
        await running.stop();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
