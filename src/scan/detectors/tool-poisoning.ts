// Tool-poisoning detector: hidden instructions in a tool's name, description or input schema
// (descriptions of parameters included). Reuses the injection rules in `tool_definition` mode
// and adds cues specific to poisoned tool descriptions.
import { normalize } from "../normalize.js";
import type { DetectorHit } from "../types.js";
import { scoreInjection } from "./injection.js";

export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema?: unknown;
  [extra: string]: unknown;
}

interface PoisonCue {
  id: string;
  re: RegExp;
  weight: number;
}

// Cues seen in tool-poisoning attacks: secrecy towards the user, reading local secrets, side
// tasks hidden in the description, and coercion ("or the tool will not work").
const POISON_CUES: PoisonCue[] = [
  {
    id: "secrecy",
    re: /\b(?:do not|don't|never|must not|without)\s+(?:tell|mention|inform|notify|show|reveal|alert|let)(?:ing)?\b[^.!?\n]{0,30}\b(?:the )?user\b|\bhide (?:this|it) from\b|\bthe user (?:must|should) not (?:know|see|be told)/,
    weight: 0.7,
  },
  {
    id: "sensitive_files",
    re: /(?:~\/\.ssh|id_rsa|id_ed25519|\.env\b|\.aws\/credentials|\.npmrc|\.netrc|\.git-credentials|mcp\.json|claude_desktop_config|\/etc\/passwd|\/etc\/shadow|private key|api keys?|credentials?\.json)/,
    weight: 0.45,
  },
  {
    id: "side_task",
    re: /\b(?:before|after|when|whenever) (?:using|calling|invoking|running) (?:this|the|any) (?:tool|function)\b[^.!?\n]{0,80}\b(?:read|send|call|include|pass|forward|upload|also|first)\b|\b(?:pass|include|put|send|add) (?:its|their|the) (?:content|contents|value)s? (?:as|in|into|to)\b/,
    weight: 0.5,
  },
  {
    id: "coercion",
    re: /\b(?:otherwise|or else|if not,?) (?:the )?(?:tool|function|system|request|call)s? (?:will|would) (?:not work|fail|crash|break|error)/,
    weight: 0.45,
  },
  {
    id: "hidden_markup",
    re: /<(?:important|secret|hidden|instructions?|system)>|\bsidenote\b/,
    weight: 0.5,
  },
  {
    id: "cross_tool",
    re: /\b(?:instead of|rather than|whenever you use|when using|override|replace|redirect)\b[^.!?\n]{0,40}\b(?:the )?\w+[_.-]\w+ tool\b|\ball (?:emails?|messages|requests) (?:must|should) (?:be sent|go) to\b/,
    weight: 0.45,
  },
];

/** Scores one tool definition; returns at most one hit with all evidence. */
export function detectToolPoisoning(tool: ToolDefinition, threshold = 0): DetectorHit[] {
  const texts = [tool.name, tool.description ?? "", ...schemaTexts(tool.inputSchema)];
  const joined = texts.filter(Boolean).join("\n");
  const normalized = normalize(joined);
  const injection = scoreInjection(normalized, "tool_definition");
  const evidence = injection.matches.map((m) => `${m.rule}: ${m.evidence}`);
  let miss = 1 - injection.score;
  const haystacks = [normalized.text, ...normalized.hidden.map((h) => h.text)];
  for (const cue of POISON_CUES) {
    const m = haystacks.map((h) => cue.re.exec(h)).find((x) => x);
    if (m) {
      miss *= 1 - cue.weight;
      evidence.push(`poison.${cue.id}: ${m[0].slice(0, 120)}`);
    }
  }
  // Invisible characters or tag smuggling in a definition have no benign use.
  if (normalized.invisibleCount > 0) {
    miss *= 0.5;
    evidence.push(`poison.invisible: ${normalized.invisibleCount} invisible characters`);
  }
  const score = Math.round((1 - miss) * 1000) / 1000;
  if (evidence.length === 0 || score < threshold) return [];
  return [{ detector: "tool_poisoning", kind: "tool_poisoning", score, evidence: evidence.join(" | ") }];
}

/** Every description, title, enum and default string inside a JSON schema. */
function schemaTexts(schema: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 20 || schema === null || typeof schema !== "object") return out;
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (typeof v === "string" && (k === "description" || k === "title" || k === "default" || k === "const"))
      out.push(v);
    else if (k === "properties" && v && typeof v === "object") {
      for (const [prop, sub] of Object.entries(v as Record<string, unknown>)) {
        if (prop.length > 24) out.push(prop);
        schemaTexts(sub, out, depth + 1);
      }
    } else if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === "string") out.push(item);
        else schemaTexts(item, out, depth + 1);
      }
    } else if (typeof v === "object") schemaTexts(v, out, depth + 1);
  }
  return out;
}
