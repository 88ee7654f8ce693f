// Which mode applies to a call: the configured mode, narrowed by the canary and the kill switch.
import { createHash } from "node:crypto";

export type PolicyMode = "off" | "dry-run" | "enforce" | "canary";
export type EffectiveMode = "off" | "dry-run" | "enforce";

export interface CanaryConfig {
  /** Percentage (0-100) of users, by stable hash of tenant/user, that get enforce. */
  percent: number;
  /** Users (subject.user) always enforced. */
  users?: string[];
  /** Agents (client names from clientInfo) always enforced. */
  agents?: string[];
  /** Changes which users fall in the percentage without changing the percentage. */
  salt?: string;
}

/** Stable bucket in [0, 100) for a user: the same user always lands in the same bucket. */
export function canaryBucket(tenant: string, user: string, salt = ""): number {
  const h = createHash("sha256").update(`${salt}\0${tenant}\0${user}`).digest();
  return (h.readUInt32BE(0) / 0x1_0000_0000) * 100;
}

export function inCanary(canary: CanaryConfig, tenant: string, user: string, agent: string | null): boolean {
  if (canary.users?.includes(user)) return true;
  if (agent !== null && canary.agents?.includes(agent)) return true;
  return canaryBucket(tenant, user, canary.salt) < canary.percent;
}

export function effectiveMode(
  mode: PolicyMode,
  killSwitch: boolean,
  canary: CanaryConfig | undefined,
  who: { tenant: string; user: string; agent: string | null },
): EffectiveMode {
  if (mode === "off") return "off";
  if (killSwitch) return "dry-run";
  if (mode === "dry-run") return "dry-run";
  if (mode === "canary") {
    if (!canary) return "dry-run";
    return inCanary(canary, who.tenant, who.user, who.agent) ? "enforce" : "dry-run";
  }
  return "enforce";
}
