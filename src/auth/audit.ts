import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

// The audit ledger as this area sees it: injected, so identity and approval do not depend
// on the ledger's implementation or its timing.
export interface AuditSink {
  write(event: Record<string, unknown>): void | Promise<void>;
}

/** Writes an event without letting a failing sink break authentication or approval. */
export async function writeAudit(sink: AuditSink | undefined, event: Record<string, unknown>): Promise<void> {
  if (!sink) return;
  try {
    await sink.write({ time: new Date().toISOString(), ...event });
  } catch {
    // The ledger owns its own failure reporting; auth must not turn a ledger hiccup into a 500.
  }
}

/** Collects events in memory (tests, and a default for standalone use). */
export class MemoryAuditSink implements AuditSink {
  readonly events: Record<string, unknown>[] = [];
  write(event: Record<string, unknown>): void {
    this.events.push(event);
  }
}

/**
 * Appends events as JSON lines (mode 0600). Used by the `warden keys` CLI, which runs
 * outside the proxy and so has no ledger handle; the proxy injects its ledger instead.
 */
export class JsonlAuditSink implements AuditSink {
  constructor(readonly file: string) {}
  write(event: Record<string, unknown>): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, `${JSON.stringify(event)}\n`, { mode: 0o600 });
  }
}
