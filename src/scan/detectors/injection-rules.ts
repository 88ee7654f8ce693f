// Prompt-injection cues. Each rule is one general pattern of an attack class, written against
// normalised (lower-cased, de-obfuscated) text. A rule counts once per text; scores combine as
// independent evidence (1 - prod(1 - w)), so one strong cue or several weak ones cross a threshold.
//
// Linear time: every pattern starts with a literal or a small alternation of literals, and every
// gap is a bounded single-class repetition ({0,n}), so the work per position is bounded by a constant.

import { foldConfusables } from "../normalize.js";
import { isJsSpace } from "./js-space.js";

export interface InjectionRule {
  id: string;
  /** Finding kind reported for the rule. */
  kind:
    | "instruction_override"
    | "role_hijack"
    | "jailbreak"
    | "system_prompt_leak"
    | "chat_template"
    | "agent_directed"
    | "exfiltration_link";
  re: RegExp;
  /**
   * Lower-case substrings of which at least one occurs in every match. A rule runs only when one
   * of its triggers is present (found in one combined pass), which keeps benign text fast.
   * Omitted: the rule always runs.
   */
  triggers?: string[];
  /**
   * Lower-case substrings of which one more must occur as well (every match holds one of these
   * and one of `triggers`). Windows are placed around `triggers`, so they should be the rarer set.
   */
  requires?: string[];
  /**
   * Where the triggers sit in every match: "start" (the match begins with one, or with
   * non-space characters glued to it, or for a rule anchored with ^ anywhere on its line: windows
   * start at the space, or for ^ rules the line break, before a trigger), "end" (it ends with one). The rule
   * then only needs the text after, or before, each trigger.
   */
  anchor?: "start" | "end";
  /**
   * Every match lies within one sentence: it holds no ".", "!" or "?" except as its first
   * character (and its triggers none). Windows then stop at the sentence breaks around a trigger;
   * a `^` in the pattern must not match at such a break (e.g. `^\s*word`).
   */
  sentence?: true;
  /**
   * A cheap necessary condition on the text around a trigger at `at` for a match to hold it
   * (e.g. "only spaces back to the line start", "an action verb follows"): triggers that fail it
   * open no window.
   */
  lead?: (text: string, at: number) => boolean;
  /** Weight per kind of text; a missing kind means the rule does not apply to it. */
  weight: { argument?: number; tool_output?: number; tool_definition?: number };
}

// Russian "ignore" / "instruction" stems as they read after confusable folding.
const RU_IGNORE = foldConfusables("игнорир");
const RU_INSTRUCTION = foldConfusables("инструкц");

// `lead` checks, scanning back from a trigger, skip what a pattern's \s matches.
const isSpace = isJsSpace;
/** Only spaces, tabs, "#", "(" and "[" between the line start and `at`. */
const atLineStart = (text: string, at: number) => {
  for (let j = at - 1; j >= 0; j--) {
    const c = text.charCodeAt(j);
    if (c === 10) return true;
    if (c !== 32 && c !== 9 && c !== 35 && c !== 40 && c !== 91) return false;
  }
  return true;
};
/** Whitespace back to the text start, a line break, or a ".", "!" or "?" (then at least one). */
const atSentenceStart = (text: string, at: number) => {
  let j = at - 1;
  for (; j >= 0; j--) {
    const c = text.charCodeAt(j);
    if (c === 10) return true;
    if (!isSpace(c)) break;
  }
  if (j < 0) return true;
  const c = text.charCodeAt(j);
  return j < at - 1 && (c === 46 || c === 33 || c === 63);
};
/** After whitespace back from `at`: a quote, or a ":" followed by at least one space. */
const atFieldStart = (text: string, at: number) => {
  let j = at - 1;
  while (j >= 0 && isSpace(text.charCodeAt(j))) j--;
  if (j < 0) return false;
  const c = text.charCodeAt(j);
  return c === 34 || c === 39 || (c === 58 && j < at - 1);
};

const both = (w: number, def = w) => ({ argument: w, tool_output: w, tool_definition: def });
// Gap inside one sentence, bounded.
const G = (n: number) => `[^.!?\\n]{0,${n}}?`;

const OVERRIDE_VERB =
  "(?:ignore|ignoring|disregard|forget|override|overlook|bypass|skip|abandon|neglect|discard|cancel|erase|drop|do not follow|don't follow|stop following|no longer follow|set aside|throw out)";
const PRIOR =
  "(?:previous|prior|above|earlier|preceding|foregoing|former|initial|original|system|all|any|every|your|other|old|past|existing|given|aforementioned|developer|these|those|the)";
const DIRECTIVES =
  "(?:instructions?|directions?|prompt(?:s|ing)?|rules|guidelines|commands?|orders|directives?|guidance|constraints|polic(?:y|ies)|programming|context|messages?|tasks?|requests?|content|text|restrictions|training|settings)";
const AGENT_NOUN =
  "(?:ai|a\\.i\\.|assistant|chatbot|chat bot|language model|llm|gpt(?:-?\\d[\\w.]*)?|chatgpt|claude|gemini|agent|copilot|model|bot)";
const ACTION_VERBS =
  "(?:send|email|e-mail|forward|transfer|withdraw|wire|pay|deposit|invite|grant|share|upload|disable|unlock|delete|remove|erase|reset|change|update|install|download|execute|run|book|purchase|buy|sell|move|copy|retrieve|give|post|schedule|cancel|turn off|turn on|open|set|add|create|generate|initiate|publish|approve|authorize|revoke|export|leak|tweet|navigate|visit|modify|redirect|invest|release|grant|terminate|shut|adjust|increase|decrease|deactivate|activate|apply|order|make|provide|write|reply|respond|translate|recommend|suggest|insert|inject|append|mention|include|start|begin|end|conclude|encourage|express|jumble|rewrite|summarize|use|replace|reverse|spell|output|print|say|tell|answer)";
// agent.imperative_in_data's lead: its matches are `start \s* (polite word [,]? \s+)* verb …
// trigger`, where start is the text start, a line break, a sentence break with spaces, or a
// quote opening a field, and nothing between the verb and the trigger is a line or sentence
// break. So the verb is the first word of the trigger's clause (after the last "\n", ".", "!"
// or "?" before it, spaces and polite words skipped), or the first word after a quote in it.
const POLITE_WORDS = new Set([
  "please",
  "kindly",
  "now",
  "also",
  "then",
  "immediately",
  "urgently",
  "quickly",
]);
/** The run of word characters each action verb begins with ("e" of "e-mail", "turn" of "turn off"). */
const ACTION_FIRST_WORDS = new Set(
  ACTION_VERBS.slice(3, -1)
    .split("|")
    .map((verb) => (/^\w+/.exec(verb) as RegExpExecArray)[0]),
);
const isWordCode = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
/** After spaces and polite words from `from`, a word before `end` that an action verb begins with. */
const actionVerbAt = (text: string, from: number, end: number): boolean => {
  let k = from;
  for (;;) {
    while (k < end && isSpace(text.charCodeAt(k))) k++;
    let e = k;
    while (e < end && isWordCode(text.charCodeAt(e))) e++;
    if (e === k) return false;
    const word = text.slice(k, e);
    const after = text.charCodeAt(e);
    if (!POLITE_WORDS.has(word) || !(after === 44 || isSpace(after))) return ACTION_FIRST_WORDS.has(word);
    k = after === 44 ? e + 1 : e;
  }
};
/** An action verb starts the clause before `at`, or follows a quote in it. */
const requestClauseBefore = (text: string, at: number): boolean => {
  let j = at - 1;
  for (; j >= 0; j--) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 46 || c === 33 || c === 63) break;
    if ((c === 34 || c === 39) && actionVerbAt(text, j + 1, at)) return true;
  }
  return actionVerbAt(text, j + 1, at);
};

/** The run of word characters that starts at `k` ("" when none does). */
const wordAt = (text: string, k: number) => {
  let e = k;
  while (e < text.length && isWordCode(text.charCodeAt(e))) e++;
  return text.slice(k, e);
};
/** After the spaces from `k` (at least one): where the next word starts, or -1. */
const afterSpaces = (text: string, k: number) => {
  if (!isSpace(text.charCodeAt(k))) return -1;
  while (isSpace(text.charCodeAt(k))) k++;
  return k;
};
const REQUEST_ADVERBS = new Set(["immediately", "urgently", "also", "now", "quickly"]);
/**
 * The polite requests' `(please|kindly)\s+(?:(?:immediately|urgently|also|now|quickly|go ahead
 * and)\s+)?verb\b` at `at`: the word after "please" or "kindly" (both six letters), or after
 * one of those adverbs, is one an action verb begins with.
 */
const verbAfterPlease = (text: string, at: number): boolean => {
  const k = afterSpaces(text, at + 6);
  if (k < 0) return false;
  const word = wordAt(text, k);
  if (ACTION_FIRST_WORDS.has(word)) return true;
  let next = -1;
  if (REQUEST_ADVERBS.has(word)) next = afterSpaces(text, k + word.length);
  else if (text.startsWith("go ahead and", k)) next = afterSpaces(text, k + 12);
  return next >= 0 && ACTION_FIRST_WORDS.has(wordAt(text, next));
};
const CAN_YOU_ADVERBS = new Set(["please", "kindly", "also", "now"]);
/** agent.can_you's `(can|could|would|will) you (?:(please|kindly|also|now) )?verb\b` at `at`. */
const verbAfterCanYou = (text: string, at: number): boolean => {
  const k = at + wordAt(text, at).length;
  if (!text.startsWith(" you ", k)) return false;
  const word = wordAt(text, k + 5);
  if (ACTION_FIRST_WORDS.has(word)) return true;
  const next = k + 5 + word.length;
  return (
    CAN_YOU_ADVERBS.has(word) &&
    text.charCodeAt(next) === 32 &&
    ACTION_FIRST_WORDS.has(wordAt(text, next + 1))
  );
};
/**
 * exfil.url_template after its "//" at `at`: the URL characters that follow (no space, ")",
 * quote or ">", at most 200 and one of "?&/=") lead to a template: "{", "$", "<", "[", "(data)",
 * "data_here" or "insert".
 */
const templateInUrl = (text: string, at: number): boolean => {
  const end = Math.min(text.length, at + 204);
  for (let k = at + 2; k < end; k++) {
    const c = text.charCodeAt(k);
    // "{", "$", "<", "[", "("
    if (c === 123 || c === 36 || c === 60 || c === 91 || c === 40) return true;
    if (c === 100 && text.startsWith("data_here", k)) return true;
    if (c === 105 && text.startsWith("insert", k)) return true;
    // Space, ")", '"', "'", ">": the URL part of a match ends before.
    if (isSpace(c) || c === 41 || c === 34 || c === 39 || c === 62) return false;
  }
  return false;
};

/**
 * agent.exfil_target after its verb at `at`: a word "to", "at" or "with" starts within 100
 * characters of the verb's end with no ".", "!", "?" or line break before it (every branch of
 * the pattern goes on that way after its gap).
 */
const toAfterVerb = (text: string, at: number): boolean => {
  let k = at + wordAt(text, at).length;
  // "e-mail": the verb goes on after the word "e".
  if (text.startsWith("-mail", k)) k += 5;
  const end = Math.min(text.length, k + 101);
  for (let j = k; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 46 || c === 33 || c === 63) return false;
    if ((c === 116 || c === 97 || c === 119) && !isWordCode(text.charCodeAt(j - 1))) {
      const word = wordAt(text, j);
      if (word === "to" || word === "at" || word === "with") return true;
    }
  }
  return false;
};

const OUTPUT_NOUN =
  "(?:response|answer|reply|message|output|summary|responses|answers|replies|messages|outputs|summaries|text|writing|completion|result)";

export const INJECTION_RULES: InjectionRule[] = [
  // --- instruction override ---------------------------------------------------------------
  {
    id: "override.ignore_prior",
    triggers: [
      "ignor",
      "disregard",
      "forget",
      "overrid",
      "overlook",
      "bypass",
      "skip",
      "abandon",
      "neglect",
      "discard",
      "cancel",
      "erase",
      "drop",
      "not follow",
      "n't follow",
      "stop following",
      "no longer follow",
      "set aside",
      "throw out",
    ],
    sentence: true,
    kind: "instruction_override",
    re: new RegExp(
      `(?<!(?:n't|not|never)\\s)\\b${OVERRIDE_VERB}\\b${G(40)}\\b${PRIOR}\\b${G(30)}\\b${DIRECTIVES}\\b`,
    ),
    weight: both(0.75),
  },
  {
    id: "override.ignore_above",
    triggers: ["ignore", "disregard", "forget"],
    kind: "instruction_override",
    re: /\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)?(?:of\s+)?(?:the\s+|that\s+)?(?:above|previous|prior|preceding|before|earlier|said|everything|that was said)\b/,
    weight: both(0.75),
  },
  {
    id: "override.prior_void",
    triggers: [
      "false",
      "wrong",
      "fake",
      "void",
      "invalid",
      "obsolete",
      "cancel",
      "revoked",
      "outdated",
      "no longer",
      "null",
      "replaced",
      "overridden",
      "deprecated",
    ],
    sentence: true,
    kind: "instruction_override",
    re: /\b(?:(?:all)?(?:previous|prior|above|earlier|old|original|initial|all)\s*(?:instructions?|directions?|prompts?|rules|guidelines)|(?:instructions?|directions?|prompts?|rules|guidelines)\s+(?:above|before|earlier|so far|given (?:above|before|earlier)))\s+(?:are|were|is|have been|has been)\s+(?:false|wrong|fake|void|invalid|obsolete|cancell?ed|revoked|outdated|no longer|null|replaced|overridden|deprecated)/,
    weight: both(0.8),
  },
  {
    id: "override.new_instructions",
    triggers: [
      "instruction",
      "directive",
      "new task",
      "new order",
      "new command",
      "new rules",
      "updated task",
      "real task",
      "secret task",
      "hidden task",
      "urgent task",
      "priority task",
      "additional task",
      "special task",
      "override",
    ],
    kind: "instruction_override",
    re: /\b(?:new|updated|revised|real|actual|true|additional|secret|hidden|special|urgent|override|priority)\s+(?:instructions?|directives?|tasks?|orders|commands?|rules)\s*(?::|#|-{2,}|=|are\b|follow\b|below\b|as follows)/,
    weight: both(0.55),
  },
  {
    id: "override.begin_new",
    triggers: [
      "new instruction",
      "new task",
      "new mode",
      "new session",
      "new prompt",
      "updated instruction",
      "updated task",
      "the real",
      "admin mode",
      "admin session",
      "admin instruction",
      "admin prompt",
      "debug mode",
      "debug session",
      "developer mode",
      "developer instruction",
      "developer prompt",
      "developer session",
    ],
    kind: "instruction_override",
    re: /\b(?:begin|start|enter|end)\s+(?:of\s+)?(?:new|updated|the real|admin|debug|developer)\s+(?:instructions?|tasks?|mode|session|prompt)/,
    weight: both(0.6),
  },
  {
    id: "override.stop",
    triggers: [
      "stop everything",
      "stop what you",
      "halt all",
      "nevermind",
      "never mind",
      "forget about",
      "forget it",
      "forget that",
      "forget this",
      "stop!",
      "abort!",
    ],
    kind: "instruction_override",
    re: /\b(?:stop everything|stop what you(?:'re| are) doing|halt all|nevermind\.|never mind\.|forget (?:about )?(?:it|that|this)\b[^.!?\n]{0,20}\b(?:instead|now)|stop!{1,}|abort!{1,})/,
    weight: both(0.45),
  },
  {
    id: "override.instead",
    triggers: ["instead", "rather than that", "rather than this", "rather than what"],
    kind: "instruction_override",
    re: new RegExp(
      `\\b(?:instead|rather than (?:that|this|what)),?\\s+(?:you\\s+)?(?:should|must|will|need to|have to)?\\s*${ACTION_VERBS}\\b`,
    ),
    weight: { argument: 0.3, tool_output: 0.45, tool_definition: 0.45 },
  },
  {
    id: "override.multilingual",
    // Rules read normalised text, where Cyrillic look-alikes are already folded to Latin
    // ("игнорир" reads "игhopиp"): Cyrillic words are written through the same fold.
    triggers: ["ignor", "oubliez", "vergiss", "olvida", "dimentica", RU_IGNORE, "忽略", "無視"],
    kind: "instruction_override",
    re: new RegExp(
      `(?:ignor(?:ez|iere|a|ar)|oubliez|vergiss|olvida|dimentica)\\b[^.!?\\n]{0,40}\\b(?:instructions|anweisungen|instrucciones|istruzioni|instruções|consignes|befehle|regeln)|${RU_IGNORE}\\S*[^.!?\\n]{0,40}${RU_INSTRUCTION}|忽略[^。\\n]{0,20}(?:指令|指示|说明)|無視[^。\\n]{0,20}指示`,
    ),
    weight: both(0.7),
  },
  // --- role hijack / jailbreak -------------------------------------------------------------
  {
    id: "role.you_are_now",
    triggers: [
      "you're now",
      "you're no longer",
      "you're from now",
      "you're going to",
      "you're about to",
      "you're free",
      "you're not bound",
      "you're unbound",
      "you're liberated",
      "you are now",
      "you are no longer",
      "you are from now",
      "you are going to",
      "you are about to",
      "you are free",
      "you are not bound",
      "you are unbound",
      "you are liberated",
      "you will be now",
      "you will be no longer",
      "you will be from now",
      "you will be going to",
      "you will be about to",
      "you will be free",
      "you will be not bound",
      "you will be unbound",
      "you will be liberated",
    ],
    kind: "role_hijack",
    re: /\byou(?:'re| are| will be)\s+(?:now|no longer|from now on|going to (?:act|pretend|play|be|become|simulate|roleplay)|about to (?:immerse|become|act|play)|free(?:d)? from|not bound|unbound|liberated)\b/,
    weight: both(0.5),
  },
  {
    id: "role.from_now_on",
    triggers: ["from now on", "from this point", "for the rest of this", "until i ", "henceforth"],
    kind: "role_hijack",
    re: /\b(?:from now on|from this point(?: on| forward)?|for the rest of this conversation|until i (?:tell|say)|henceforth)\b/,
    weight: both(0.3),
  },
  {
    id: "role.act_as",
    triggers: [
      "act as",
      "act like",
      "acting as",
      "acting like",
      "behave as",
      "behave like",
      "respond as",
      "respond like",
      "answer as",
      "answer like",
      "reply as",
      "reply like",
      "speak as",
      "speak like",
      "talk as",
      "talk like",
      "function as",
      "function like",
      "operate as",
      "operate like",
    ],
    kind: "role_hijack",
    re: new RegExp(
      `\\b(?:act|acting|behave|respond|answer|reply|speak|talk|function|operate)\\s+(?:as|like)\\s+(?:if\\s+you\\s+(?:are|were)\\s+)?${G(40)}\\b(?:dan|${AGENT_NOUN}|character|persona|version|entity|machine|personality|generator|simulator|emulator|terminal|interpreter|console)\\b`,
    ),
    weight: both(0.3),
  },
  {
    id: "role.pretend",
    triggers: [
      "pretend",
      "role-play",
      "roleplay",
      "role play",
      "in character",
      "break character",
      "breaking character",
      "simulate a",
      "simulate an",
      "simulate the",
      "emulate a",
      "emulate an",
      "emulate the",
      "impersonate",
    ],
    kind: "role_hijack",
    re: /\b(?:pretend (?:to be|you are|that you|you're)|role-?play(?:ing)? as|in character as|stay(?:ing)? in character|break(?:ing)? character|(?:simulate|emulate|impersonate) (?:a|an|the)\b[^.!?\n]{0,50}\b(?:ai|bot|model|models|chatbot|mode))/,
    weight: both(0.4),
  },
  {
    id: "jailbreak.persona",
    triggers: [
      "dan",
      "do anything now",
      "jailbr",
      "developer mode",
      "dev mode",
      "god mode",
      "debug mode",
      "sudo mode",
      "admin mode",
      "evil",
      "antigpt",
      "anti-gpt",
      "dude",
      "mongo tom",
      "betterdan",
      "chaos mode",
      "reprogram",
    ],
    kind: "jailbreak",
    re: /\b(?:dan|do anything now|jailbr(?:eak|eaks|oken|eaking)|developer mode|dev mode|god mode|debug mode|sudo mode|admin mode|evil (?:mode|bot|ai|assistant|confidant|twin)|anti-?gpt|dude|mongo tom|betterdan|chaos mode|reprogram(?:med|ming)?)\b/,
    weight: both(0.35),
  },
  {
    id: "jailbreak.no_limits",
    triggers: [
      "unfiltered",
      "amoral",
      "immoral",
      "uncensored",
      "unrestricted",
      "unethical",
      "unlimited",
      "unbound",
      "no ethical",
      "no moral",
      "without ethic",
      "without moral",
      "without censor",
      "without filter",
      "without restrict",
      "without limit",
      "without boundar",
      "without guideline",
      "without rule",
      "without any",
      "no filter",
      "no restriction",
      "no limits",
      "no limitation",
      "no boundaries",
      "no rules",
      "no censorship",
      "no guidelines",
      "no morals",
      "no ethics",
      "no principles",
    ],
    kind: "jailbreak",
    re: /\b(?:unfiltered|amoral|immoral|uncensored|unrestricted|unethical|unlimited|unbound|no (?:ethical|moral)|without (?:any )?(?:ethic|moral|censor|filter|restrict|limit|boundar|guideline|rule)|no (?:filters?|restrictions?|limits|limitations|boundaries|rules|censorship|guidelines|morals|ethics|principles))/,
    weight: both(0.3),
  },
  {
    id: "jailbreak.policy",
    triggers: [
      "openai",
      "anthropic",
      "content polic",
      "guideline",
      "safety",
      "filter",
      "restriction",
      "rules",
      "ethic",
      "moral",
      "confines",
      "programming",
      "policies",
      "limitation",
    ],
    // The first half of every match: much rarer than the nouns above.
    requires: [
      "ignore",
      "disregard",
      "bypass",
      "break$",
      "violate",
      "not bound",
      "not restricted",
      "not limited",
      "no longer bound",
      "no longer restricted",
      "free from",
      "freed from",
      "broken free",
      "escape",
      "don't",
      "doesn't",
      "not have to",
      "not need to",
      "not follow",
      "not abide",
      "not comply",
      "outside",
      "beyond",
    ],
    sentence: true,
    kind: "jailbreak",
    // "break the rules" is ordinary prose in documents; it is a jailbreak cue mainly in prompts.
    re: /\b(?:ignore|ignores|disregard|disregards|bypass|break|violate|not bound by|not restricted by|not limited by|no longer bound by|no longer restricted by|free from|freed from|broken free|escape[ds]?|don't (?:have to )?(?:follow|abide|comply)|do not (?:have to )?(?:follow|abide|comply)|not (?:have to |need to )?(?:follow|abide|comply)|doesn't (?:have to )?(?:follow|abide)|outside|beyond)\b[^.!?\n]{0,40}\b(?:openai|anthropic|content polic|guidelines|safety|filters?|restrictions|rules|ethic|moral|confines|programming|policies|limitations)/,
    weight: { argument: 0.45, tool_output: 0.3, tool_definition: 0.45 },
  },
  {
    id: "jailbreak.never_refuse",
    triggers: [
      "refuse",
      "decline",
      "reject",
      "say no",
      "deny",
      "always answer",
      "always provide",
      "always respond",
      "always comply",
      "always obey",
      "no matter how",
      "regardless of",
    ],
    kind: "jailbreak",
    re: /\b(?:never (?:refuse|decline|say no)|(?:can't|cannot|can not|won't|will not|must not|not allowed to|unable to) (?:refuse|decline|reject)|(?:will|must|should|have to) always (?:answer|respond|comply|provide|obey)|always (?:answer|provide|respond|comply)\b[^.!?\n]{0,40}\b(?:no matter|regardless|even if)|no matter how (?:immoral|unethical|illegal|dangerous|offensive)|regardless of (?:legality|ethics|morality|how))/,
    weight: both(0.45),
  },
  {
    id: "jailbreak.dual_response",
    triggers: [
      "[gpt",
      "[dan",
      "[jailbreak",
      "[classic",
      "[🔒",
      "[🔓",
      "[normal",
      "[developer",
      "two different",
      "two separate",
      "two responses",
      "two ways",
      "two answers",
      "two paragraphs",
      "two outputs",
      "normal response",
      "normal output",
      "classic response",
      "classic output",
    ],
    kind: "jailbreak",
    re: /(?:\[(?:gpt|dan|jailbreak|classic|🔒classic|🔓jailbreak|normal|developer mode output)[^\]\n]{0,20}\]|\btwo (?:different |separate )?(?:responses|ways|answers|paragraphs|outputs)\b|\b(?:normal|classic) (?:response|output)\b[^.!?\n]{0,60}\b(?:jailbr|dan|developer|unfiltered))/,
    weight: { argument: 0.35, tool_output: 0.2, tool_definition: 0.2 },
  },
  {
    id: "jailbreak.safety_off",
    triggers: ["safe mode", "safety", "filter", "guardrail", "restriction", "censorship"],
    kind: "jailbreak",
    re: /\b(?:safe(?:ty)? mode|safety|filters?|guardrails?|restrictions?|censorship|content filter)\s+(?:is |are |has been |have been )?(?:off|disabled|deactivated|removed|lifted|turned off|bypassed|no longer)/,
    weight: both(0.6),
  },
  {
    id: "jailbreak.ai_meta",
    triggers: [
      "language model",
      "openai",
      "chatgpt",
      "content policy",
      "ai model",
      "ethical guidelines",
      "moral guidelines",
    ],
    kind: "jailbreak",
    re: /\b(?:as an ai language model|large language model|openai|chatgpt|content policy|language model|ai model|ethical guidelines|moral guidelines)\b/,
    weight: { argument: 0.2, tool_output: 0.15, tool_definition: 0.15 },
  },
  {
    id: "jailbreak.hypothetical",
    triggers: [
      "hypothetical",
      "fictional world",
      "alternate universe",
      "opposite day",
      "thought experiment",
      "token system",
      "tokens",
      "sentien",
      "free will",
      "self-aware",
    ],
    kind: "jailbreak",
    re: /\b(?:hypothetical(?:ly)?|fictional world|alternate universe|opposite day|thought experiment|token system|lose (?:\d+ )?tokens|sentien(?:t|ce)|free will|self-aware)\b/,
    weight: { argument: 0.15, tool_output: 0.1, tool_definition: 0.1 },
  },
  {
    id: "jailbreak.enable_mode",
    sentence: true,
    anchor: "start",
    kind: "jailbreak",
    triggers: ["enable", "activate", "enter", "stay in", "switch to", "turn on", "remain in"],
    re: /\b(?:enable|activate|enter|stay in|switch to|turn on|remain in)\s+(?:[\w/-]+\s+){0,4}mode\b/,
    weight: { argument: 0.3, tool_output: 0.2, tool_definition: 0.3 },
  },
  {
    id: "role.takeover",
    kind: "role_hijack",
    triggers: ["offline", "in error", "now online", "taken over", "took over", "replaced by"],
    re: /\b(?:assistant|ai|model|bot|system|chatgpt|gpt)\b[^.!?\n]{0,25}\b(?:is|has gone|went|was)\s+(?:now\s+)?(?:offline|down|disabled|in error|replaced)|\b(?:is now online|has taken over|took over|(?:been |was |is )?replaced by (?:an? |the )?(?:new |unrestricted |different |evil )?(?:ai|bot|assistant|model|chatbot))\b/,
    weight: { argument: 0.45, tool_output: 0.4, tool_definition: 0.45 },
  },
  {
    id: "role.standing_order",
    kind: "role_hijack",
    triggers: ["every time", "whenever", "each time", "from now on"],
    re: /\b(?:every time|whenever|each time)\s+(?:a |the |any )?(?:user|someone|anyone|they|he|she|i|people)\s+(?:asks?|says?|mentions?|requests?|types?|writes?)\b|\bfrom now on,?\s+you\s+(?:will|are|must|shall|should|can)\b/,
    weight: { argument: 0.35, tool_output: 0.4, tool_definition: 0.5 },
  },
  {
    id: "jailbreak.sensitive_data",
    sentence: true,
    kind: "jailbreak",
    triggers: [
      "usernames",
      "passwords",
      "credentials",
      "api keys",
      "secrets",
      "private keys",
      "credit card numbers",
    ],
    re: /\b(?:all|every|the)\s+(?:(?:usernames?|passwords?|credentials|api keys|secrets|private keys|credit card numbers)(?:\s+and\s+)?){1,3}\b[^.!?\n]{0,30}\b(?:in|from|stored|you have|your|you know)\b/,
    weight: { argument: 0.25, tool_output: 0.3, tool_definition: 0.4 },
  },
  {
    id: "template.conversation_frame",
    kind: "chat_template",
    triggers: ["the following is a conversation", "below is a conversation"],
    re: /\b(?:the following|below) is a (?:conversation|dialogue|chat|transcript) (?:with|between)\b/,
    weight: { argument: 0.35, tool_output: 0.3, tool_definition: 0.4 },
  },
  {
    id: "template.instruction_delimiter",
    kind: "chat_template",
    triggers: ["%%", "##", "==", "--", "**", "[[", "<<"],
    requires: ["instruction", "prompt", "rules", "system"],
    anchor: "start",
    re: /(?:%{2,}|#{2,}|={2,}|-{2,}|\*{2,}|\[{2}|<{2})\s*(?:end|begin|start|new|updated|override)\b[^\n]{0,40}?\b(?:instructions?|prompt|rules|system)\b/,
    weight: both(0.6),
  },
  {
    id: "leak.given_instructions",
    kind: "system_prompt_leak",
    triggers: ["instructions you", "instruction you", "prompt you", "rules you"],
    re: /\b(?:instructions?|prompts?|rules)\s+(?:that\s+)?you\s+(?:have been|were|are|got)\s+(?:given|told|provided|programmed)/,
    weight: { argument: 0.5, tool_output: 0.4, tool_definition: 0.5 },
  },
  // --- system prompt extraction -------------------------------------------------------------
  {
    id: "leak.system_prompt",
    triggers: [
      "prompt",
      "instruction",
      "direction",
      "rules",
      "guideline",
      "configuration",
      "system message",
      "initial message",
      "original message",
      "hidden message",
      "secret message",
      "previous message",
      "first message",
      "full message",
      "internal message",
    ],
    sentence: true,
    kind: "system_prompt_leak",
    re: /\b(?:reveal|show|print|output|repeat|display|tell me|give me|leak|disclose|what (?:is|are|were)|write out|spell out|recite|return|respond with)\b[^.!?\n]{0,30}?\b(?:your|the|all|every|my)\s+(?:(?:system|initial|original|hidden|secret|previous|above|full|first|starting|exact|pre-?prompt|internal)\s+){1,2}(?:prompt|instructions?|message|directions?|rules|guidelines|configuration)/,
    weight: both(0.7),
  },
  {
    id: "leak.prompt_words",
    triggers: [
      "prompt",
      "instructions you",
      "instruction you",
      "your initial",
      "your original",
      "your first",
      "your system",
      "words above",
      "text above",
      "everything above",
    ],
    kind: "system_prompt_leak",
    re: /\b(?:system prompt|initial prompt|above prompt|prompt above|previous prompt|original prompt|pre-?prompt|hidden prompt|instructions? you (?:have been|were|are) given|your (?:initial|original|first|system) instructions?|words above|text above|everything above)\b/,
    weight: both(0.35),
  },
  {
    id: "leak.your_instructions",
    triggers: ["instructions", "prompt", "rules you", "guidelines you", "configuration", "parameters and"],
    kind: "system_prompt_leak",
    re: /\b(?:list|repeat|relay|reveal|show|print|output|display|give|tell|share|dump|write|recite|return|what are)\b[^.!?\n]{0,40}\byour\b[^.!?\n]{0,30}\b(?:instructions|prompt|system prompt|rules you|guidelines you|configuration|parameters and instructions)\b/,
    weight: { argument: 0.55, tool_output: 0.4, tool_definition: 0.5 },
  },
  // --- chat-template / delimiter injection ---------------------------------------------------
  {
    id: "template.special_tokens",
    triggers: [
      "<|",
      "inst]",
      "<<sys",
      "<</sys",
      "<system",
      "</system",
      "<sys",
      "</sys",
      "<instruction",
      "</instruction",
      "<admin",
      "</admin",
      "<information",
      "</information",
      "<important",
      "</important",
      "<prompt",
      "</prompt",
      "<developer",
      "</developer",
      "<assistant",
      "</assistant",
      "<user_query",
      "</user_query",
      "</s>",
      "<s>",
    ],
    kind: "chat_template",
    re: /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_text|im_sep)\|>|\[\/?inst\]|<<\/?sys>>|<\/?(?:system|sys|instructions?|admin|information|important|prompt|system_prompt|developer|assistant|user_query)>|<\/s>|<s>\s*\[/,
    weight: both(0.75),
  },
  {
    id: "template.role_line",
    triggers: [
      "system",
      "assistant",
      "admin",
      "developer",
      "sys:",
      "sys ",
      "ai:",
      "ai :",
      "ai>",
      "(ai",
      "[ai",
    ],
    // A match starts at the start of its trigger's line (the window starts there for ^ rules).
    anchor: "start",
    lead: atLineStart,
    kind: "chat_template",
    re: /(?:^|\n)[ \t]*(?:#{1,6}[ \t]*)?[([]?[ \t]*(?:system|assistant|admin|administrator|developer|sys|ai)(?:[ _](?:message|prompt|note|override|instruction|update|alert|notice))?[ \t]*[)\]]?[ \t]*(?::|>|-{2,}|#{2,})/,
    weight: { argument: 0.45, tool_output: 0.55, tool_definition: 0.55 },
  },
  {
    id: "template.inline_role",
    triggers: ["##", "===", "***", "--- ", "---(", "---["],
    kind: "chat_template",
    re: /(?:#{2,}|={3,}|-{3,}|\*{3,})\s*[([]?\s*(?:system|admin|assistant|developer|instructions?)[\w ]{0,20}[)\]]?/,
    weight: both(0.45),
  },
  {
    id: "template.end_of_data",
    triggers: ["end of", "ends here"],
    kind: "chat_template",
    re: /\b(?:end of (?:the )?(?:input|context|document|data|user input|prompt|text|email|file|conversation|transcript)|(?:input|context|document|data) ends here)/,
    weight: both(0.4),
  },
  {
    id: "template.conversation_turn",
    triggers: [
      "human:",
      "user:",
      "assistant:",
      "ai:",
      "gpt:",
      "chatbot:",
      "bot:",
      "human :",
      "user :",
      "assistant :",
      "ai :",
      "gpt :",
      "bot :",
    ],
    kind: "chat_template",
    re: /(?:^|\n|["'.]\s)(?:human|user|assistant|ai|gpt|chatbot|bot)\s*:\s*\S/,
    weight: { argument: 0.2, tool_output: 0.25, tool_definition: 0.3 },
  },
  // --- instructions aimed at the agent inside data --------------------------------------------
  {
    id: "agent.addressed",
    triggers: [
      "ai ",
      "ai,",
      "ai:",
      "ai!",
      "ai.",
      "a.i.",
      "assistant",
      "chatbot",
      "chat bot",
      "language model",
      "llm",
      "gpt",
      "claude",
      "gemini",
      "copilot",
      "agent",
      "model",
      "bot,",
      "bot:",
      "bot!",
      "bot.",
    ],
    kind: "agent_directed",
    re: new RegExp(
      `(?:\\b(?:dear|attention|note to|hey|hi|hello|message (?:for|to)|instructions? (?:for|to))\\s+(?:the |any |all |you,? (?:the )?)?(?:chat )?${AGENT_NOUN}s?\\b|\\bto (?:the |any |all |you,? (?:the )?)?(?:ai|a\\.i\\.|ai assistant|assistant|chatbot|llm|language model)\\s*[,:!]|\\bif you are an? ${AGENT_NOUN}\\b|\\b(?:ai|llm|language model|assistant|agent|model)s? (?:reading|processing|summari[sz]ing|parsing|analy[sz]ing) this\\b)`,
    ),
    weight: { argument: 0.25, tool_output: 0.45, tool_definition: 0.5 },
  },
  {
    id: "agent.when_you_read",
    triggers: [
      "you read",
      "you see",
      "you process",
      "you summar",
      "you receive",
      "you encounter",
      "you parse",
      "you analy",
      "you get to",
      "you reach",
      "you are reading",
      "you finish",
    ],
    kind: "agent_directed",
    re: /\b(?:when|once|after|as soon as|if) you (?:read|see|process|summari[sz]e|receive|encounter|parse|analy[sz]e|get to|reach|are reading|finish reading)\s+(?:this|these|the following|that)\b/,
    weight: { argument: 0.35, tool_output: 0.55, tool_definition: 0.6 },
  },
  {
    id: "agent.important",
    triggers: ["important", "urgent", "attention", "warning", "notice", "alert", "critical"],
    kind: "agent_directed",
    re: /\b(?:important|urgent|attention|warning|notice|alert|critical)\s*(?:!{2,}|:{1}\s*(?:you|ignore|do|please|the assistant|assistant))|\bimportant (?:message|instructions?|notice|update|note)\b/,
    weight: { argument: 0.3, tool_output: 0.4, tool_definition: 0.45 },
  },
  {
    id: "agent.task_preempt",
    triggers: [
      "before you",
      "original task",
      "current task",
      "previous task",
      "user task",
      "user's task",
      "original request",
      "current request",
      "previous request",
      "user request",
      "user's request",
      "original question",
      "current question",
      "previous question",
      "user question",
      "user's question",
      "task i gave",
      "task that i gave",
      "task i assigned",
      "task that i assigned",
      "do the following",
      "complete the following",
      "perform the following",
      "you must",
      "you should",
      "you need to",
      "you have to",
    ],
    kind: "agent_directed",
    re: /\b(?:before you (?:can )?(?:solve|complete|answer|respond|proceed|finish|reply|summari[sz]e)|(?:the|your) (?:original|current|previous|user'?s?) (?:task|request|question)\b[^.!?\n]{0,30}\b(?:is|can wait|no longer|cancel)|task (?:that )?i (?:gave|assigned) you|do the following(?: first)?:?|(?:please |you must |you need to )?(?:first|also)(?:,)? (?:do|complete|perform) the following|you (?:must|should|need to|have to) (?:now |first |also |immediately )?(?:send|forward|transfer|delete|email|grant|invite|wire|share|upload|leak))/,
    weight: { argument: 0.3, tool_output: 0.45, tool_definition: 0.55 },
  },
  {
    id: "agent.output_control",
    triggers: [
      "your response",
      "your answer",
      "your repl",
      "your message",
      "your output",
      "your summar",
      "your text",
      "your writing",
      "your completion",
      "your result",
    ],
    kind: "agent_directed",
    re: new RegExp(
      `\\b(?:${ACTION_VERBS}|ensure|make sure|remember|be sure|don't forget|do not forget|always|only|never)\\b${G(60)}\\byour\\s+(?:${OUTPUT_NOUN})\\b`,
    ),
    weight: { argument: 0.2, tool_output: 0.45, tool_definition: 0.45 },
  },
  {
    id: "agent.in_your_response",
    triggers: [
      "your response",
      "your answer",
      "your repl",
      "your message",
      "your output",
      "your summar",
      "your text",
      "your writing",
      "your completion",
      "your result",
    ],
    kind: "agent_directed",
    re: new RegExp(
      `\\b(?:in|into|within|to|throughout|from|at the (?:start|end|beginning|top|bottom) of|end|begin|start|conclude|finish|close|preface|prefix)\\s+(?:all\\s+|each\\s+|every\\s+)?(?:of\\s+)?your\\s+(?:${OUTPUT_NOUN})\\b`,
    ),
    weight: { argument: 0.2, tool_output: 0.45, tool_definition: 0.45 },
  },
  {
    id: "agent.respond_with",
    triggers: [
      "respond with",
      "respond in",
      "respond using",
      "respond only",
      "respond just",
      "respond exactly",
      "respond simply",
      "reply with",
      "reply in",
      "reply using",
      "reply only",
      "reply just",
      "reply exactly",
      "reply simply",
      "answer with",
      "answer in",
      "answer using",
      "answer only",
      "answer just",
      "answer exactly",
      "answer simply",
      "output with",
      "output in",
      "output using",
      "output only",
      "output just",
      "output exactly",
      "output simply",
      "print with",
      "print in",
      "print using",
      "print only",
      "print just",
      "print exactly",
      "print simply",
      "say with",
      "say in",
      "say using",
      "say only",
      "say just",
      "say exactly",
      "say simply",
      "write with",
      "write in",
      "write using",
      "write only",
      "write just",
      "write exactly",
      "write simply",
      "return with",
      "return in",
      "return using",
      "return only",
      "return just",
      "return exactly",
      "return simply",
      "only those",
      "only these",
      "only that",
      "only this",
      "nothing else",
      "nothing more",
      "just print",
      "just say",
      "just output",
      "just write",
      "say:",
      "say the",
      "repeat:",
      "repeat the",
      "print the following",
      "output the following",
      "write the following",
      "say :",
      "repeat :",
      "print exactly",
      "output exactly",
      "write exactly",
      "print verbatim",
      "output verbatim",
      "write verbatim",
    ],
    kind: "agent_directed",
    re: /\b(?:respond|reply|answer|output|print|say|write|return)\s+(?:only\s+|just\s+|exactly\s+|with only\s+|simply\s+)?(?:with|in|using)\s+(?:the (?:following|word|phrase|text|sentence)|only|just|exactly|"|'|“|a single)|\b(?:and )?(?:only|nothing (?:else|more)) (?:those|these|that|this) (?:words?|phrases?|text)|\bjust (?:print|say|output|write)\b|\b(?:say|repeat)\s*(?:the (?:following|word|phrase|text))?\s*:|\b(?:print|output|write)\s+(?:the following|exactly|only|verbatim)\b/,
    weight: { argument: 0.35, tool_output: 0.45, tool_definition: 0.45 },
  },
  {
    id: "agent.imperative_in_data",
    triggers: ["my$", "me$", "mine$", "i$"],
    anchor: "end",
    sentence: true,
    lead: requestClauseBefore,
    kind: "agent_directed",
    re: new RegExp(
      `(?:^|\\n|[{:,\\[]\\s*['"]|[.!?]\\s+|['"]\\s*:\\s*['"])\\s*(?:(?:please|kindly|now|also|then|immediately|urgently|quickly)[,]?\\s+)*${ACTION_VERBS}\\b${G(120)}\\b(?:my|me|mine|i)\\b`,
    ),
    weight: { tool_output: 0.45, tool_definition: 0.3 },
  },
  {
    id: "agent.exfil_target",
    triggers: [
      "send",
      "forward",
      "email",
      "e-mail",
      "transfer",
      "upload",
      "post",
      "share",
      "leak",
      "exfiltrate",
      "report",
      "copy",
      "deliver",
      "wire",
      "invite",
    ],
    requires: ["@", "http", "www.", "to my ", "to this ", "to the following", "to our "],
    anchor: "start",
    lead: toAfterVerb,
    kind: "agent_directed",
    re: /\b(?:send|forward|email|e-mail|transfer|upload|post|share|leak|exfiltrate|report|copy|deliver|wire|invite)\b[^.!?\n]{0,100}?\b(?:(?:to|at|with)\s+(?:the (?:email|address|account)\s+)?['"]?[\w.+-]{1,64}@[\w-]{1,63}\.[\w.]{2,20}|to\s+(?:the (?:url|website|site|server|link|page)\s+)?(?:https?:\/\/|www\.)|to (?:my|this|the following|our) (?:email|address|account|server|website|url|wallet|bank|phone|number))/,
    weight: { argument: 0.15, tool_output: 0.45, tool_definition: 0.6 },
  },
  {
    id: "override.ignore_prior_short",
    triggers: ["ignore", "disregard", "forget", "override"],
    kind: "instruction_override",
    re: /(?<!(?:n't|not|never)\s)\b(?:ignore|disregard|forget|override)\s+(?:all\s+)?(?:of\s+)?(?:your|the|my|any|these|those)?\s*(?:previous|prior|above|earlier|preceding|initial|original|former)\b/,
    weight: both(0.65),
  },
  {
    id: "code.insert_snippet",
    triggers: [
      "your code",
      "your codebase",
      "your implementation",
      "your solution",
      "your algorithm",
      "your program",
      "your script",
      "your project",
      "your application",
      "your app",
      "your software",
      "your answer",
      "your response",
      "your function",
      "your module",
      "the user",
    ],
    sentence: true,
    kind: "agent_directed",
    re: /\b(?:following|subsequent|below|this|these|provided|given|attached)\s+(?:code|snippet|script|lines? of code|block|function|payload|command)\b[^.!?\n]{0,60}\b(?:into|in|within|to|inside|throughout|as (?:a |an )?(?:part|component|element|piece|section) of)\s+(?:the\s+)?(?:\w+\s+of\s+)?(?:your|the user'?s?)\s+(?:code|codebase|implementation|solution|algorithm|program|script|project|application|app|software|answer|response|function|module)/,
    weight: { tool_output: 0.55, tool_definition: 0.55, argument: 0.2 },
  },
  {
    id: "agent.todo_directive",
    triggers: [
      "todo",
      "to-do",
      "to do:",
      "to do :",
      "action required",
      "action item",
      "task:",
      "task :",
      "reminder",
      "instruction:",
      "instruction :",
      "note to",
    ],
    kind: "agent_directed",
    re: /\b(?:todo|to-do|to do|action required|action item|task|reminder|instruction|note to (?:self|ai|assistant|agent))\s*:\s*(?:please\s+)?(?:send|email|e-mail|forward|transfer|invite|grant|share|upload|post|publish|delete|remove|visit|navigate to|concatenate|wire|pay|withdraw|deposit|download|install|execute|leak|tweet|disable|exfiltrate|reply to|message)\b/,
    weight: { argument: 0.2, tool_output: 0.5, tool_definition: 0.55 },
  },
  {
    id: "agent.polite_request_in_field",
    triggers: ["please", "kindly"],
    sentence: true,
    // (?:[{:,\[]\s*['"]|['"]\s*:\s*['"]|:\s+)\s* before the trigger.
    lead: (text, at) => atFieldStart(text, at) && verbAfterPlease(text, at),
    kind: "agent_directed",
    re: new RegExp(
      `(?:[{:,\\[]\\s*['"]|['"]\\s*:\\s*['"]|:\\s+)\\s*(?:please|kindly)\\s+(?:(?:immediately|urgently|also|now|quickly|go ahead and)\\s+)?${ACTION_VERBS}\\b`,
    ),
    weight: { tool_output: 0.4, tool_definition: 0.4 },
  },
  {
    id: "agent.polite_request_in_prose",
    triggers: ["please", "kindly"],
    sentence: true,
    // (?:^|\n|[.!?]\s+)\s* before the trigger.
    lead: (text, at) => atSentenceStart(text, at) && verbAfterPlease(text, at),
    kind: "agent_directed",
    re: new RegExp(
      `(?:^|\\n|[.!?]\\s+)\\s*(?:please|kindly)\\s+(?:(?:immediately|urgently|also|now|quickly|go ahead and)\\s+)?${ACTION_VERBS}\\b`,
    ),
    weight: { tool_output: 0.25, tool_definition: 0.35 },
  },
  {
    id: "agent.can_you",
    triggers: ["can you", "could you", "would you", "will you"],
    anchor: "start",
    lead: verbAfterCanYou,
    sentence: true,
    kind: "agent_directed",
    re: new RegExp(
      `\\b(?:can|could|would|will) you (?:please |kindly |also |now )?${ACTION_VERBS}\\b${G(120)}\\b(?:and then|then|and)\\s+${ACTION_VERBS}\\b`,
    ),
    weight: { tool_output: 0.45, tool_definition: 0.45, argument: 0.1 },
  },
  {
    id: "agent.then_chain",
    triggers: ["and then", "after that", "afterwards", "once done", "once completed"],
    kind: "agent_directed",
    re: /\b(?:and then|after that|afterwards|once done|once completed),?\s+(?:please\s+)?(?:send|email|forward|transfer|post|upload|share|delete|remove|invite|grant|withdraw|pay|wire|leak|export)\b/,
    weight: { tool_output: 0.35, tool_definition: 0.4, argument: 0.1 },
  },
  {
    id: "agent.verdict_steering",
    triggers: [
      "asked",
      "questioned",
      "queried",
      "prompted",
      "evaluating",
      "summari",
      "reviewing",
      "assessing",
      "not malicious",
      "not dangerous",
      "not harmful",
      "not suspicious",
      "not a ",
    ],
    sentence: true,
    kind: "agent_directed",
    re: /\b(?:if|when|whenever)\s+(?:you are\s+|you're\s+|being\s+)?(?:asked|questioned|queried|prompted|evaluating|summari[sz]ing|reviewing|assessing)\b[^.!?\n]{0,40}\b(?:report|say|state|answer|respond|reply|conclude|claim|tell|assert|confirm|mention)\s+(?:\w+\s+){0,3}?that\b|\b(?:this|the)\s+(?:domain|file|url|link|site|website|email|message|code|document|candidate|applicant|package|program|transaction|account)\b[^.!?\n]{0,30}\b(?:is|are)\s+(?:clearly\s+|definitely\s+|absolutely\s+|completely\s+|totally\s+|certainly\s+)?not\s+(?:malicious|dangerous|harmful|suspicious|a (?:scam|threat|phishing))/,
    weight: { argument: 0.2, tool_output: 0.45, tool_definition: 0.5 },
  },
  {
    id: "agent.emphasis",
    triggers: [
      "really important",
      "extremely important",
      "very important",
      "super important",
      "critically important",
      "vitally important",
      "important!!",
      "!!!",
    ],
    kind: "agent_directed",
    re: /\b(?:really|extremely|very|super|critically|vitally) important\b[^.!?\n]{0,10}\b(?:extremely|really|very|critically)? ?important\b|\bimportant!{2,}|!{3,}\s*(?:ignore|important|attention|stop|urgent)/,
    weight: { argument: 0.2, tool_output: 0.35, tool_definition: 0.35 },
  },
  {
    id: "code.integrate_snippet",
    triggers: [
      "embed",
      "integrat",
      "incorporat",
      "blend",
      "merg",
      "fus",
      "meld",
      "absorb",
      "assimilat",
      "adopt",
      "deploy",
      "enlist",
      "inject",
      "weav",
      "infus",
      "implant",
      "splic",
      "your code",
      "your codebase",
      "your implementation",
      "your solution",
      "your algorithm",
      "your program",
      "your script",
    ],
    sentence: true,
    kind: "agent_directed",
    re: /\b(?:embed\w*|integrat\w*|incorporat\w*|blend\w*|merg\w*|fus\w*|meld\w*|absorb\w*|assimilat\w*|adopt\w*|deploy\w*|enlist\w*|inject\w*|weav\w*|infus\w*|implant\w*|splic\w*)\b[^.!?\n]{0,40}\b(?:following|subsequent|below|this)\s+(?:code|snippet|script)|\byour\s+(?:code|codebase|implementation|solution|algorithm|program|script)\b[^.!?\n]{0,40}\b(?:following|subsequent)\s+(?:code|snippet)/,
    weight: { argument: 0.15, tool_output: 0.35, tool_definition: 0.4 },
  },
  {
    id: "agent.imperative_your_output",
    sentence: true,
    kind: "agent_directed",
    triggers: [
      "your response",
      "your answer",
      "your repl",
      "your message",
      "your output",
      "your summar",
      "your text",
      "your writing",
    ],
    re: new RegExp(
      `(?:^|\\n|[.!?|]\\s+)\\s*(?:please\\s+)?[a-z]{3,15}\\s+(?:up\\s+|out\\s+)?(?:all\\s+(?:of\\s+)?)?your\\s+${OUTPUT_NOUN}\\b`,
    ),
    weight: { argument: 0.15, tool_output: 0.45, tool_definition: 0.45 },
  },
  {
    id: "code.following_snippet",
    kind: "agent_directed",
    triggers: ["following code", "subsequent code", "below code", "code you develop", "code you write"],
    re: /\b(?:following|subsequent|below)\s+code\s+(?:snippet|block|excerpt|section|segment|fragment|piece|sample)s?\b|\bcode you (?:develop|write|are writing|produce)\b/,
    weight: { argument: 0.1, tool_output: 0.25, tool_definition: 0.3 },
  },
  // --- exfiltration links ------------------------------------------------------------------
  {
    id: "exfil.markdown_image_query",
    triggers: ["!["],
    kind: "exfiltration_link",
    // A query value that carries data: long, templated or encoded (badges use short values).
    re: /!\[[^\]\n]{0,200}\]\(\s*(?:https?:)?\/\/[^)\s?#]{1,300}[?#&](?:[^)\s]{0,200}?=)?(?:[^)\s&=]{0,100}?(?:\{|\$|<|%7b|%3c|\[)|[A-Za-z0-9+/%_.-]{32,})/,
    weight: { argument: 0.45, tool_output: 0.6, tool_definition: 0.7 },
  },
  {
    id: "exfil.url_template",
    triggers: ["//"],
    lead: templateInUrl,
    // A match starts at "//" or at the "http(s):" glued to it, which the window (it starts at the
    // space before its trigger) holds.
    anchor: "start",
    kind: "exfiltration_link",
    re: /(?:https?:)?\/\/[^\s)"'<>]{1,200}?[?&/=](?:\{\{?|\$\{|\$[a-z_]|<[a-z_ ]{1,40}>|\[[a-z_ ]{1,40}\]|\(data\)|data_here|insert)/,
    weight: { argument: 0.3, tool_output: 0.35, tool_definition: 0.5 },
  },
  {
    id: "exfil.append_to_url",
    triggers: [
      "url",
      "link",
      "query",
      "src",
      "parameter",
      "markdown image",
      "image link",
      "image tag",
      "image markdown",
    ],
    // The verb every match begins with.
    requires: [
      "append$",
      "add$",
      "include$",
      "put$",
      "encode$",
      "attach$",
      "concatenate$",
      "insert$",
      "render$",
      "display$",
      "show$",
      "output$",
    ],
    anchor: "end",
    sentence: true,
    kind: "exfiltration_link",
    re: /\b(?:append|add|include|put|encode|attach|concatenate|insert)\b[^.!?\n]{0,80}\b(?:to|in|into|as)\s+(?:the |a |this )?(?:url|link|query(?: string| parameter)?|image (?:url|link|source)|src|parameter)\b|\b(?:render|display|show|include|output)\b[^.!?\n]{0,30}\b(?:markdown image|image (?:link|tag|markdown))/,
    weight: { argument: 0.35, tool_output: 0.55, tool_definition: 0.6 },
  },
  {
    id: "exfil.html_image",
    triggers: ["<img"],
    kind: "exfiltration_link",
    re: /<img\b[^>]{0,200}\bsrc\s*=\s*["']?(?:https?:)?\/\/[^"'\s>?]{1,300}[?&](?:[^"'\s>]{0,200}?=)?(?:[^"'\s>&=]{0,100}?(?:\{|\$|<|%7b|%3c|\[)|[A-Za-z0-9+/%_.-]{32,})/,
    weight: { argument: 0.3, tool_output: 0.45, tool_definition: 0.6 },
  },
];
