// Public surface of the sandbox area.
export {
  parseSandboxConfig,
  type SandboxConfig,
  type SandboxConfigInput,
  type SandboxToolConfig,
  sandboxConfigSchema,
  sandboxToolSchema,
} from "./config.js";
export { createSandboxProvider, type SandboxProvider } from "./provider.js";
export type { SandboxOutcome, SandboxStatus } from "./result.js";
