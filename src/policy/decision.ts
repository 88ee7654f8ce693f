// Turns the policy's decision document into a Decision. Default deny: anything other than an
// explicit `allow: true` is a deny. Deny wins: a non-empty `deny` set denies whatever `allow`
// says. A document that contradicts itself or has the wrong types is an error (handled by the
// failure mode), never silently an allow.
import type { Decision, Obligation } from "../pipeline/types.js";

export class PolicyDecisionError extends Error {
  override name = "PolicyDecisionError";
  constructor(
    readonly kind: "conflict" | "invalid",
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_DENY_REASON = "no policy rule allows this request (default deny)";

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw new PolicyDecisionError("invalid", `decision.${field} must be an array or set of strings`);
  return v.map((x) => {
    if (typeof x === "string") return x;
    if (x && typeof x === "object" && typeof (x as { msg?: unknown }).msg === "string")
      return (x as { msg: string }).msg;
    throw new PolicyDecisionError(
      "invalid",
      `decision.${field} must hold strings (got ${JSON.stringify(x)})`,
    );
  });
}

function booleanField(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new PolicyDecisionError("invalid", `decision.${field} must be a boolean`);
  return v;
}

/**
 * Backends return either the decision document itself or a list of them (an OPA result set).
 * Several different documents for one query is a conflict.
 */
export function unwrapResultSet(raw: unknown): unknown {
  if (!Array.isArray(raw)) return raw;
  const values = raw.map((r) =>
    r && typeof r === "object" && "result" in r ? (r as { result: unknown }).result : r,
  );
  if (values.length === 0) return undefined;
  const first = JSON.stringify(values[0]);
  for (const v of values.slice(1))
    if (JSON.stringify(v) !== first)
      throw new PolicyDecisionError(
        "conflict",
        `policy produced ${values.length} different decisions for one request`,
      );
  return values[0];
}

export function parseDecisionDocument(doc: unknown): Decision {
  if (doc === undefined || doc === null) {
    return {
      allow: false,
      reasons: [DEFAULT_DENY_REASON],
      requireApproval: false,
      obligations: [],
      auditTags: [],
    };
  }
  if (typeof doc === "boolean") {
    // A bare boolean rule (e.g. `allow`) is accepted as the allow bit.
    return {
      allow: doc,
      reasons: doc ? [] : [DEFAULT_DENY_REASON],
      requireApproval: false,
      obligations: [],
      auditTags: [],
    };
  }
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new PolicyDecisionError("invalid", "decision document must be an object");
  const d = doc as Record<string, unknown>;
  if (Array.isArray(d.allow)) throw new PolicyDecisionError("conflict", "decision.allow has several values");
  const allow = booleanField(d.allow, "allow");
  const deny = stringList(d.deny, "deny");
  const reasons = stringList(d.reasons, "reasons");
  const requireApproval = booleanField(d.require_approval, "require_approval");
  const auditTags = stringList(d.audit_tags, "audit_tags");
  const obligationsRaw = d.obligations ?? [];
  if (!Array.isArray(obligationsRaw))
    throw new PolicyDecisionError("invalid", "decision.obligations must be an array");
  const obligations = obligationsRaw.map((o): Obligation => {
    if (!o || typeof o !== "object" || typeof (o as { type?: unknown }).type !== "string")
      throw new PolicyDecisionError("invalid", "each obligation must be an object with a string `type`");
    return o as Obligation;
  });
  if (deny.length > 0) {
    return { allow: false, reasons: [...deny].sort(), requireApproval: false, obligations: [], auditTags };
  }
  if (!allow) {
    return {
      allow: false,
      reasons: reasons.length > 0 ? reasons : [DEFAULT_DENY_REASON],
      requireApproval: false,
      obligations: [],
      auditTags,
    };
  }
  return { allow: true, reasons, requireApproval, obligations, auditTags };
}
