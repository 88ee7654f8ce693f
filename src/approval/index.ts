// Human approval: elicitation to the caller, or pending approvals decided via the admin API/CLI.
export {
  type AdminHandler,
  createApprovalAdminHandler,
  DEFAULT_ADMIN_BASE,
  startAdminServer,
} from "./adminApi.js";
export { callHash, canonicalJson } from "./callHash.js";
export { type ApprovalConfig, approvalConfigSchema, parseApprovalConfig } from "./config.js";
export { redactArguments } from "./redact.js";
export { createApprovalStage, elicitationRequest } from "./stage.js";
export { type Approval, ApprovalError, type ApprovalStatus, ApprovalStore } from "./store.js";
export { createWebhookNotifier, slackPayload } from "./webhook.js";
