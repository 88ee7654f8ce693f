import type { Subject } from "../pipeline/types.js";
import type { StdioSubjectConfig } from "./config.js";

/** The stdio front door has no credentials: the subject is the configured local user. */
export function stdioSubject(cfg: StdioSubjectConfig): Subject {
  return {
    user: cfg.user,
    tenant: cfg.tenant,
    roles: [...cfg.roles],
    scopes: [...cfg.scopes],
    authMethod: "stdio",
  };
}
