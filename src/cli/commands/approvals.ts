import { readFileSync } from "node:fs";
import type { Command } from "commander";

// `warden approvals list|show|approve|deny`: a client of a running warden's admin API
// (pending approvals live in that process). Credentials: an API key with role approver/admin,
// from WARDEN_ADMIN_KEY or --key-file (not a flag value, so it stays out of `ps`).

interface ClientOpts {
  url: string;
  keyFile?: string;
  json?: boolean;
}

function credential(o: ClientOpts): string {
  const key = o.keyFile ? readFileSync(o.keyFile, "utf8").trim() : process.env.WARDEN_ADMIN_KEY;
  if (!key) throw new Error("no admin credential: set WARDEN_ADMIN_KEY or pass --key-file");
  return key;
}

async function call(o: ClientOpts, method: string, path: string, body?: unknown): Promise<unknown> {
  const base = o.url.replace(/\/$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${credential(o)}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new Error(`cannot reach the warden admin API at ${base}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  if (!res.ok) {
    const p = parsed as { error?: string; error_description?: string };
    throw new Error(`admin API answered ${res.status}: ${p?.error_description ?? p?.error ?? text}`);
  }
  return parsed;
}

interface ApprovalView {
  id: string;
  status: string;
  tenant: string;
  server: string;
  tool: string;
  requester: { user: string };
  expiresAt: string;
  decidedBy?: { user: string };
  comment?: string;
}

function line(a: ApprovalView): string {
  return `${a.id}  ${a.status.padEnd(8)} ${a.tenant.padEnd(10)} ${`${a.server}/${a.tool}`.padEnd(28)} by ${a.requester.user}  expires ${a.expiresAt}${
    a.decidedBy ? `  decided by ${a.decidedBy.user}` : ""
  }${a.comment ? `  "${a.comment}"` : ""}`;
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option(
      "--url <url>",
      "admin API base of the running warden",
      process.env.WARDEN_ADMIN_URL ?? "http://127.0.0.1:8787",
    )
    .option("--base-path <path>", "admin API path", "/admin/approvals")
    .option(
      "--key-file <path>",
      "file holding an API key with role approver/admin (default: $WARDEN_ADMIN_KEY)",
    )
    .option("--json", "machine-readable output");
}

function fail(e: unknown): void {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exitCode = 1;
}

export function register(program: Command): void {
  const approvals = program
    .command("approvals")
    .description("list and decide pending approvals of a running warden");

  clientOptions(
    approvals
      .command("list")
      .option("--status <status>", "pending (default), approved, denied, expired, consumed, all", "pending"),
  ).action(async (o: ClientOpts & { basePath: string; status: string }) => {
    try {
      const q = o.status === "all" ? "" : `?status=${encodeURIComponent(o.status)}`;
      const r = (await call(o, "GET", `${o.basePath}${q}`)) as { approvals: ApprovalView[] };
      if (o.json) process.stdout.write(`${JSON.stringify(r.approvals)}\n`);
      else if (r.approvals.length === 0) process.stdout.write("no approvals\n");
      else for (const a of r.approvals) process.stdout.write(`${line(a)}\n`);
    } catch (e) {
      fail(e);
    }
  });

  clientOptions(approvals.command("show").argument("<id>")).action(
    async (id: string, o: ClientOpts & { basePath: string }) => {
      try {
        const a = await call(o, "GET", `${o.basePath}?id=${encodeURIComponent(id)}`);
        process.stdout.write(`${JSON.stringify(a, null, o.json ? 0 : 2)}\n`);
      } catch (e) {
        fail(e);
      }
    },
  );

  for (const verdict of ["approve", "deny"] as const) {
    clientOptions(
      approvals
        .command(verdict)
        .argument("<id>")
        .option("--comment <text>", verdict === "deny" ? "why it is denied" : "note for the audit log"),
    ).action(async (id: string, o: ClientOpts & { basePath: string; comment?: string }) => {
      try {
        const a = (await call(o, "POST", o.basePath, {
          id,
          action: verdict,
          ...(o.comment ? { comment: o.comment } : {}),
        })) as ApprovalView;
        process.stdout.write(o.json ? `${JSON.stringify(a)}\n` : `${line(a)}\n`);
      } catch (e) {
        fail(e);
      }
    });
  }
}
