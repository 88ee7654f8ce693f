// Adapts the ledger to the AuditSink other areas (auth, approval) write events to, so their
// events land in the same hash chain as call decisions.
import type { AuditLedger } from "./ledger.js";
import type { AuditEntry } from "./record.js";

const TOP_LEVEL = ["server", "tool", "session", "method", "decision", "stage", "outcome"] as const;

export function ledgerAuditSink(ledger: AuditLedger): {
  write(event: Record<string, unknown>): Promise<void>;
} {
  return {
    async write(event) {
      // `time` is the caller's clock; the ledger stamps its own `ts`, keep theirs in detail.
      const { event: name, ...rest } = event;
      const entry: AuditEntry = { event: typeof name === "string" ? name : "event" };
      const detail: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rest)) {
        if ((TOP_LEVEL as readonly string[]).includes(k) && typeof v === "string")
          (entry as unknown as Record<string, unknown>)[k] = v;
        else detail[k] = v;
      }
      if (Object.keys(detail).length > 0) entry.detail = detail;
      await ledger.append(entry);
    },
  };
}
