import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { JsonlAuditSink, writeAudit } from "../../auth/audit.js";
import { parseAuthConfig } from "../../auth/config.js";
import { type ApiKeyInfo, KeyStore } from "../../auth/keyStore.js";
import { registerIdentityPlugins } from "../../auth/plugin.js";

// `warden keys create|list|revoke|rotate`: manages the API key store file directly.
// Key events go to <state-dir>/auth-events.jsonl (the running proxy sends its own
// auth events to the audit ledger).

interface StoreOpts {
  config?: string;
  stateDir: string;
  file?: string;
  auditFile?: string;
  json?: boolean;
}

function list(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** "30d", "12h", "45m", or an ISO date/time. */
export function parseExpiry(v: string, now = Date.now()): Date {
  const m = /^(\d+)([mhdw])$/.exec(v.trim());
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "m" | "h" | "d" | "w"];
    const n = Number(m[1]);
    if (n <= 0) throw new Error(`--expires must be positive: ${v}`);
    return new Date(now + n * unit);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`--expires must be like 30d, 12h, 45m or an ISO date: ${v}`);
  return d;
}

/** With --config, the key store is the one `warden serve` uses: auth.stateDir / auth.apiKeys.file. */
function fromConfig(configFile: string): { stateDir: string; file?: string } {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(configFile, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${configFile}: ${(e as Error).message.split("\n")[0]}`);
  }
  const auth = parseAuthConfig((doc as { auth?: unknown } | null)?.auth ?? {});
  const base = dirname(resolve(configFile));
  return {
    stateDir: resolve(base, auth.stateDir),
    ...(auth.apiKeys.file ? { file: resolve(base, auth.apiKeys.file) } : {}),
  };
}

function open(o: StoreOpts): { store: KeyStore; audit: JsonlAuditSink } {
  const cfg = o.config ? fromConfig(o.config) : undefined;
  const stateDir = cfg?.stateDir ?? o.stateDir;
  const store = new KeyStore(o.file ?? cfg?.file ?? join(stateDir, "keys.json"));
  return { store, audit: new JsonlAuditSink(o.auditFile ?? join(stateDir, "auth-events.jsonl")) };
}

function row(k: ApiKeyInfo): string {
  return [
    k.id.padEnd(13),
    k.status.padEnd(8),
    k.name.padEnd(16),
    k.tenant.padEnd(12),
    (k.roles.join(",") || "-").padEnd(16),
    k.expiresAt ?? "never",
    k.lastUsedAt ? ` last used ${k.lastUsedAt}` : "",
  ].join(" ");
}

/** Bad input → one clear line on stderr and exit code 1, nothing else changed. */
function guard<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}
`);
      process.exitCode = 1;
    }
  };
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option("-c, --config <file>", "take the key store location from this warden.yaml's auth section")
    .option("--state-dir <dir>", "warden state directory", process.env.WARDEN_STATE_DIR ?? ".warden")
    .option("--file <path>", "key store file (default <state-dir>/keys.json)")
    .option("--audit-file <path>", "where key events are appended (default <state-dir>/auth-events.jsonl)")
    .option("--json", "machine-readable output");
}

export function register(program: Command): void {
  // identity, limits and approval plug into `warden serve` (and their config sections validate)
  registerIdentityPlugins();
  const keys = program.command("keys").description("manage API keys for the HTTP front door and admin API");

  storeOptions(
    keys
      .command("create")
      .description("create an API key (the key is printed once and never stored in clear)")
      .requiredOption("--name <name>", "label for the key")
      .requiredOption("--tenant <tenant>", "tenant the key belongs to")
      .option("--team <team>", "team of the subject")
      .option("--roles <list>", "comma-separated roles (e.g. agent,approver)")
      .option("--scopes <list>", "comma-separated scopes")
      .option("--expires <when>", "expiry: 30d, 12h, 45m or an ISO date"),
  ).action(
    guard(
      async (
        o: StoreOpts & {
          name: string;
          tenant: string;
          team?: string;
          roles?: string;
          scopes?: string;
          expires?: string;
        },
      ) => {
        const { store, audit } = open(o);
        const { token, info } = store.create({
          name: o.name,
          tenant: o.tenant,
          team: o.team,
          roles: list(o.roles),
          scopes: list(o.scopes),
          expiresAt: o.expires ? parseExpiry(o.expires) : undefined,
        });
        await writeAudit(audit, {
          event: "auth.key_created",
          credentialId: info.id,
          tenant: info.tenant,
          name: info.name,
          roles: info.roles,
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ key: token, ...info })}\n`);
        } else {
          process.stdout.write(`${token}\n`);
          process.stderr.write(
            `created key ${info.id} (${info.name}, tenant ${info.tenant}); store it now, it is not shown again\n`,
          );
        }
      },
    ),
  );

  storeOptions(keys.command("list").description("list keys (never shows secrets)")).action(
    guard((o: StoreOpts) => {
      const { store } = open(o);
      const all = store.list();
      if (o.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else for (const k of all) process.stdout.write(`${row(k)}\n`);
    }),
  );

  storeOptions(
    keys.command("revoke").description("revoke a key").argument("<id>", "key id (the part after wk_)"),
  ).action(
    guard(async (id: string, o: StoreOpts) => {
      const { store, audit } = open(o);
      const info = store.revoke(id);
      await writeAudit(audit, {
        event: "auth.key_revoked",
        credentialId: info.id,
        tenant: info.tenant,
        name: info.name,
      });
      process.stdout.write(o.json ? `${JSON.stringify(info)}\n` : `revoked ${info.id} (${info.name})\n`);
    }),
  );

  storeOptions(
    keys
      .command("rotate")
      .description("issue a replacement key with the same attributes and revoke the old one")
      .argument("<id>", "key id")
      .option("--expires <when>", "expiry of the new key (default: the old key's)"),
  ).action(
    guard(async (id: string, o: StoreOpts & { expires?: string }) => {
      const { store, audit } = open(o);
      const r = store.rotate(id, o.expires ? parseExpiry(o.expires) : undefined);
      await writeAudit(audit, {
        event: "auth.key_rotated",
        credentialId: r.info.id,
        rotatedFrom: id,
        tenant: r.info.tenant,
      });
      await writeAudit(audit, {
        event: "auth.key_revoked",
        credentialId: id,
        tenant: r.revoked.tenant,
        name: r.revoked.name,
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ key: r.token, ...r.info })}\n`);
      else {
        process.stdout.write(`${r.token}\n`);
        process.stderr.write(`rotated ${id} → ${r.info.id}; the old key is revoked\n`);
      }
    }),
  );
}
