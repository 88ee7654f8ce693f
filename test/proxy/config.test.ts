// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:...} and ${bin:...} are warden.yaml reference syntax, not template literals.
// warden.yaml validation, references, environment selection and `warden config check`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { checkConfig } from "../../src/cli/commands/config.js";
import { ConfigError, loadConfigFile, parseConfig, selectEnvironment } from "../../src/config/load.js";
import { registerConfigSection } from "../../src/config/schema.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { ROOT } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "warden-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function issuesOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("warden.yaml validation", () => {
  it("names the file, the document path and the expectation", () => {
    const file = write(
      "bad.yaml",
      "servers:\n  fs:\n    command: 42\n  web:\n    url: not-a-url\nhttp:\n    port: 99999\n",
    );
    const err = issuesOf(() => loadConfigFile(file));
    expect(err.message).toContain(file);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["servers.fs.command", "servers.web.url", "http.port"]));
    expect(err.issues.find((i) => i.path === "servers.fs.command")?.message).toBe(
      "expected string, received number",
    );
    const none = issuesOf(() => parseConfig({ servers: { odd: { args: [] } } }));
    expect(none.issues[0].path).toBe("servers.odd");
    expect(none.issues[0].message).toMatch(/`command` \(stdio\), `url` \(remote\) or `builtin`/);
  });

  it("rejects unknown keys inside core sections and server names with the separator", () => {
    expect(issuesOf(() => parseConfig({ http: { prot: 1 } })).issues[0]).toEqual({
      path: "http",
      message: "unknown key(s) 'prot'",
    });
    const err = issuesOf(() =>
      parseConfig({ servers: { "a-b": { command: "x" } }, namespace: { separator: "-" } }),
    );
    expect(err.issues[0].path).toBe("servers.a-b");
    expect(err.issues[0].message).toMatch(/without the namespace separator '-'/);
  });

  it("reports YAML syntax errors and unreadable files clearly", () => {
    expect(issuesOf(() => loadConfigFile(write("syntax.yaml", "servers: [\n"))).message).toMatch(
      /not valid YAML/,
    );
    expect(issuesOf(() => loadConfigFile(path.join(dir, "missing.yaml"))).message).toMatch(
      /cannot read file \(ENOENT\)/,
    );
  });

  it("resolves ${env:NAME}, ${configDir} and ${bin:pkg}; masks env-derived values", () => {
    process.env.WARDEN_CFG_TEST_SECRET = "hunter2";
    const loaded = parseConfig(
      {
        servers: {
          fs: { command: "node", args: ["${bin:@modelcontextprotocol/server-filesystem}", "${configDir}/x"] },
          web: {
            url: "https://example.com/mcp",
            headers: { Authorization: "Bearer ${env:WARDEN_CFG_TEST_SECRET}" },
          },
        },
      },
      { baseDir: dir },
    );
    const fs = loaded.config.servers.fs as { command: string; args: string[] };
    expect(fs.command).toBe(process.execPath);
    expect(fs.args[0]).toMatch(/server-filesystem\/dist\/index\.js$/);
    expect(fs.args[1]).toBe(`${dir}/x`);
    const web = loaded.config.servers.web as { headers: Record<string, string> };
    expect(web.headers.Authorization).toBe("Bearer hunter2");
    expect(JSON.stringify(loaded.masked)).not.toContain("hunter2");
    const literal = parseConfig({
      servers: {
        web: { url: "https://x.test", headers: { "X-Api-Key": "plain-key", Accept: "text/plain" } },
      },
    }).masked.servers.web as { headers: Record<string, string> };
    expect(literal.headers).toEqual({ "X-Api-Key": "***", Accept: "text/plain" });
    const err = issuesOf(() =>
      parseConfig({
        servers: { web: { url: "https://x.test", headers: { A: "${env:WARDEN_NOPE_UNSET}" } } },
      }),
    );
    expect(err.issues[0]).toEqual({
      path: "servers.web.headers.A",
      message: "environment variable 'WARDEN_NOPE_UNSET' is not set",
    });
  });

  it("keeps colleagues' sections: registered ones are validated, unknown ones reported", () => {
    registerConfigSection("limits_test", z.strictObject({ perMinute: z.number() }));
    expect(issuesOf(() => parseConfig({ limits_test: { perMinute: "x" } })).issues[0].path).toBe(
      "limits_test.perMinute",
    );
    const loaded = parseConfig({ limits_test: { perMinute: 5 }, policy_future: { mode: "enforce" } });
    expect(loaded.config.limits_test).toEqual({ perMinute: 5 });
    expect(loaded.unvalidatedSections).toEqual(["policy_future"]);
  });

  it("selects the environment from --env, then WARDEN_ENV, then the config", () => {
    const { config } = parseConfig({ environment: "staging" });
    const saved = process.env.WARDEN_ENV;
    delete process.env.WARDEN_ENV;
    expect(selectEnvironment(config)).toBe("staging");
    process.env.WARDEN_ENV = "prod";
    expect(selectEnvironment(config)).toBe("prod");
    expect(selectEnvironment(config, "dev")).toBe("dev");
    expect(() => selectEnvironment(config, "../etc")).toThrow(/invalid environment name/);
    if (saved === undefined) delete process.env.WARDEN_ENV;
    else process.env.WARDEN_ENV = saved;
  });
});

describe("warden config check", () => {
  it("prints the effective embedded config for each shipped environment", () => {
    for (const env of ["dev", "staging", "prod"]) {
      const out = checkConfig({ config: path.join(ROOT, "warden.yaml"), env });
      expect(out).toContain(`# environment: ${env}`);
      expect(out).toContain(`tool-registry/${env}.yaml`);
      expect(out).toMatch(/server-filesystem\/dist\/index\.js/);
    }
  });

  it("fails clearly for an environment without a registry", () => {
    expect(() => checkConfig({ config: path.join(ROOT, "warden.yaml"), env: "qa" })).toThrow(
      /tool registry for environment 'qa' \(file not found/,
    );
  });
});

describe("tool registry", () => {
  const reg = parseRegistry(
    {
      defaults: { risk: "medium" },
      servers: {
        fs: {
          tools: [
            { name: "read_*", risk: "low", labels: ["r"] },
            { name: "write_file", requires_approval: true },
          ],
        },
        code: { tools: [{ name: "run", sandbox: "python", risk: "critical", meta: { owner: "team-x" } }] },
      },
    },
    "test",
  );

  it("maps names and globs to ToolMeta, first match wins, unlisted is undefined", () => {
    expect(reg.lookup("fs", "read_text_file")).toEqual({
      risk: "low",
      labels: ["r"],
      requiresApproval: false,
    });
    expect(reg.lookup("fs", "write_file")).toEqual({ risk: "medium", labels: [], requiresApproval: true });
    expect(reg.lookup("code", "run")).toEqual({
      owner: "team-x",
      risk: "critical",
      labels: [],
      requiresApproval: false,
      sandbox: "python",
    });
    expect(reg.lookup("fs", "delete_file")).toBeUndefined();
    expect(reg.lookup("other", "read_x")).toBeUndefined();
    expect(reg.servers()).toEqual(["fs", "code"]);
  });

  it("validates registry files with paths in errors", () => {
    const err = issuesOf(() =>
      parseRegistry({ servers: { fs: { tools: [{ name: "x", risk: "extreme" }] } } }, "test", "reg.yaml"),
    );
    expect(err.message).toContain("reg.yaml");
    expect(err.issues[0].path).toMatch(/^servers\.fs\.tools\[0\]/);
  });
});
