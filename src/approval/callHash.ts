import { createHash } from "node:crypto";

// An approval is bound to one exact call: same server, tool, arguments (canonical JSON:
// sorted keys, so key order does not matter) and the same subject.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export interface CallIdentity {
  server: string;
  tool: string;
  arguments: unknown;
  tenant: string;
  user: string;
}

export function callHash(c: CallIdentity): string {
  return createHash("sha256")
    .update(canonicalJson([c.tenant, c.user, c.server, c.tool, c.arguments ?? {}]))
    .digest("hex");
}
