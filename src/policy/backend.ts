// The interface every policy backend implements (embedded Rego, OPA wasm bundle, remote OPA).
import { createHash } from "node:crypto";
import type { DecisionInput } from "./input.js";

export interface LoadedPolicy {
  /** Hash of the loaded policy files and data: recorded with every decision. */
  readonly version: string;
  /** Returns the decision document (or an OPA-style result set); throws on engine errors. */
  evaluate(input: DecisionInput, signal: AbortSignal): unknown | Promise<unknown>;
  /**
   * True when evaluate never returns a Promise and ignores its signal (in-process engines): the
   * engine then skips the per-call AbortController and timeout race, which cost more than a
   * cached evaluation.
   */
  readonly synchronous?: boolean;
  /**
   * The input paths (e.g. ["request","tool"]) the policy can read, each covering everything
   * below it; absent when any field may be read. The decision cache keys on exactly these.
   */
  readonly inputPaths?: readonly (readonly string[])[];
  close?(): void | Promise<void>;
}

export interface PolicyBackend {
  /** "rego", "wasm", "remote", ... (used as a metrics label). */
  readonly kind: string;
  /** Loads the policy from its sources; throws with a clear message on a broken policy. */
  load(): Promise<LoadedPolicy>;
  /** Files/directories whose change should trigger a reload. */
  watchPaths?(): string[];
}

/** Stable version hash over named sources (order independent). */
export function versionHash(sources: Array<{ name: string; content: string | Uint8Array }>): string {
  const h = createHash("sha256");
  for (const s of [...sources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(s.name);
    h.update("\0");
    h.update(typeof s.content === "string" ? Buffer.from(s.content) : s.content);
    h.update("\0");
  }
  return `sha256:${h.digest("hex").slice(0, 16)}`;
}

/** A backend from a JS function: for tests and for embedding warden in a program that decides itself. */
export function functionBackend(
  fn: (input: DecisionInput) => unknown | Promise<unknown>,
  version = "function",
): PolicyBackend {
  return { kind: "function", load: async () => ({ version, evaluate: (input) => fn(input) }) };
}
