// Public surface of the sandbox area.
export {
  parseSandboxConfig,
  type SandboxConfig,
  type SandboxConfigInput,
  type SandboxToolConfig,
  sandboxConfigSchema,
  sandboxToolSchema,
} from "./config.js";
export { type OutcomeHook, type SandboxRuntime, sandboxMetrics } from "./metrics.js";
export { createSandboxProvider, type SandboxProvider, type SandboxProviderOptions } from "./provider.js";
export type { SandboxOutcome, SandboxStatus } from "./result.js";
