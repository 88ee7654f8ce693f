// Public surface of the scanners.
export { parseScanConfig, resolveScanConfig, type ScanConfig, scanConfigSchema } from "./config.js";
export { detectInjection, scoreInjection } from "./detectors/injection.js";
export { detectPii, PII_TYPES } from "./detectors/pii.js";
export { detectSecrets } from "./detectors/secrets.js";
export { detectToolPoisoning } from "./detectors/tool-poisoning.js";
export { normalize } from "./normalize.js";
export { definitionHash, PinStore } from "./pins.js";
export { dropContent, placeholder, redactValue } from "./redact.js";
export { scanText, scanValue, toFindings } from "./scanner.js";
export { createScanStage, type ToolEvent } from "./stage.js";
