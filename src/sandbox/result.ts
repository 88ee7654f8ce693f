// The outcome of one sandboxed run, whatever the runtime, and its MCP tool-result form.

export type SandboxStatus =
  | "ok"
  | "exit_nonzero"
  | "error"
  | "timeout"
  | "out_of_memory"
  | "output_limit"
  | "trap";

export interface SandboxOutcome {
  status: SandboxStatus;
  /** Human-readable reason for every status but "ok". */
  reason?: string;
  stdout: string;
  stderr: string;
  /** Value the code produced (JavaScript completion value, Python last expression). */
  result?: unknown;
  exitCode: number | null;
  usage: { wallMs: number; memoryBytes?: number };
}

export interface ToolResult {
  content: Array<Record<string, unknown>>;
  isError?: boolean;
  structuredContent?: unknown;
}

/** Abnormal ends become `isError: true` with the reason first, so a model and a person can act on it. */
export function toToolResult(outcome: SandboxOutcome): ToolResult {
  const isError = outcome.status !== "ok";
  const lines: string[] = [];
  if (isError) lines.push(`sandbox ${outcome.status}: ${outcome.reason ?? "failed"}`);
  if (outcome.stdout) lines.push(outcome.stdout);
  if (outcome.stderr) lines.push(`[stderr]\n${outcome.stderr}`);
  if (outcome.result !== undefined) lines.push(`[result] ${JSON.stringify(outcome.result)}`);
  if (lines.length === 0) lines.push(`(no output, exit code ${outcome.exitCode ?? "none"})`);
  return {
    content: [{ type: "text", text: lines.join("\n") }],
    structuredContent: { ...outcome },
    ...(isError ? { isError: true } : {}),
  };
}
