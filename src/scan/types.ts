// Types shared by the detectors, the scanner and the redaction code.

/** What a piece of text is: sent to a tool, returned by one, or part of a tool's definition. */
export type TextKind = "argument" | "tool_output" | "tool_definition";

/** One match of one detector inside one string. Offsets index the string that was scanned. */
export interface DetectorHit {
  detector: "injection" | "secrets" | "pii" | "tool_poisoning";
  /** Sub-type, e.g. `instruction_override`, `aws_access_key`, `credit_card`. */
  kind: string;
  /** 0..1 confidence. */
  score: number;
  /** Short matched text (secrets and PII are masked). */
  evidence: string;
  /** Span in the raw string, when the detector can give one (secrets, PII). */
  start?: number;
  end?: number;
}
