// Credential formats. Prefixed vendor formats are strong evidence by themselves; generic
// assignments need entropy. A letter glued in front of a prefix ("xtskey-") means it is part of
// another word. Quantifiers are bounded or over one character class, so matching is linear.

export interface SecretRule {
  kind: string;
  re: RegExp;
  score: number;
  /** Capture group holding the secret (default: whole match). */
  group?: number;
  /**
   * Literals of which one occurs in every match (a cheap gate, so the regex only runs on text that
   * can match), case-sensitive unless gateAnyCase. Literals made of token characters only are
   * looked for in the text's long token runs, so they must occur in one in every match. Omitted
   * (and no gateUuid): the rule always runs.
   */
  gate?: string[];
  /** The gate literals match in any case (rules keyed on a variable name). */
  gateAnyCase?: boolean;
  /** Gate: "-xxxx-xxxx-" (hex digits, as inside every UUID) occurs in one of the long token runs. */
  gateUuid?: boolean;
  /** Extra check on the captured value; return a score (0 rejects) or boolean. */
  validate?: (value: string, match: RegExpExecArray) => number | boolean;
}

const B = "(?<![A-Za-z0-9])";
const E = "(?![A-Za-z0-9])";
const r = (src: string, flags = "") => new RegExp(src, `g${flags}`);

import { githubChecksumValid, shannonEntropy } from "../checks.js";

export const SECRET_RULES: SecretRule[] = [
  {
    kind: "private_key",
    gate: ["PRIVATE KEY"],
    re: r(
      String.raw`-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:\\n|\s){0,4}[A-Za-z0-9+/=\\\s]{16,}`,
    ),
    score: 0.98,
  },
  {
    kind: "pgp_private_key",
    gate: ["PRIVATE KEY"],
    re: r(`-----BEGIN PGP PRIVATE KEY BLOCK-----`),
    score: 0.98,
  },
  {
    kind: "aws_access_key",
    gate: ["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA"],
    re: r(
      `(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}(?![A-Z0-9])`,
    ),
    score: 0.95,
  },
  {
    kind: "aws_secret_key",
    gate: ["aws"],
    gateAnyCase: true,
    re: r(
      String.raw`aws[\w.-]{0,30}?(?:secret|sk)[\w.-]{0,20}["']?\s{0,5}(?::=|=>|[:=])\s{0,5}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
      "i",
    ),
    group: 1,
    score: 0.95,
  },
  {
    kind: "aws_account_id",
    gate: ["account"],
    gateAnyCase: true,
    re: r(
      String.raw`aws[_-]?account[_-]?id["']?\s{0,5}(?::=|=>|[:=])\s{0,5}["']?(\d{4}-?\d{4}-?\d{4})(?!\d)`,
      "i",
    ),
    group: 1,
    score: 0.6,
  },
  {
    kind: "github_token",
    gate: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    re: r(`${B}gh[pousr]_[A-Za-z0-9]{36,251}${E}`),
    score: 0.8,
    validate: (v) => (githubChecksumValid(v) ? 0.99 : 0.8),
  },
  {
    kind: "github_token",
    gate: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    re: r(String.raw`${B}ghs_\d{1,20}_[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{10,}){0,2}`),
    score: 0.9,
  },
  {
    kind: "github_fine_grained_pat",
    gate: ["github_pat_"],
    re: r(`${B}github_pat_[A-Za-z0-9_]{22,255}${E}`),
    score: 0.97,
  },
  {
    kind: "gitlab_token",
    gate: [
      "glpat-",
      "gldt-",
      "glrt-",
      "glptt-",
      "glft-",
      "glimt-",
      "glagent-",
      "gloas-",
      "glcbt-",
      "glsoat-",
      "glffct-",
    ],
    re: r(`${B}(?:glpat|gldt|glrt|glptt|glft|glimt|glagent|gloas|glcbt|glsoat|glffct)-[A-Za-z0-9_-]{20,}`),
    score: 0.95,
  },
  { kind: "gitlab_runner_token", gate: ["GR1348941"], re: r(`${B}GR1348941[A-Za-z0-9_-]{20,}`), score: 0.9 },
  {
    kind: "grafana_token",
    gate: ["glc_", "glsa_"],
    re: r(`${B}(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}${E})`),
    score: 0.95,
  },
  {
    kind: "slack_token",
    gate: ["xox"],
    re: r(String.raw`${B}xox[a-z]-\d{6,}-[0-9A-Za-z-]{6,}`),
    score: 0.95,
  },
  {
    kind: "slack_app_token",
    gate: ["xapp-"],
    re: r(String.raw`${B}xapp-\d-[A-Z0-9]{6,}-\d{6,}-[A-Za-z0-9]{16,}`),
    score: 0.95,
  },
  {
    kind: "slack_webhook",
    gate: ["hooks.slack.com"],
    re: r(
      String.raw`https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{16,}`,
    ),
    score: 0.95,
  },
  {
    kind: "stripe_secret_key",
    gate: ["_live_", "_test_"],
    re: r(`${B}(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,247}${E}`),
    score: 0.95,
  },
  { kind: "stripe_webhook_secret", gate: ["whsec_"], re: r(`${B}whsec_[A-Za-z0-9]{32,}`), score: 0.9 },
  // Real OpenAI keys carry the base64 of "OpenAI" (T3BlbkFJ) in the middle.
  {
    kind: "openai_api_key",
    gate: ["T3BlbkFJ"],
    re: r(`${B}sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200}`),
    score: 0.98,
  },
  {
    kind: "anthropic_api_key",
    gate: ["sk-ant-"],
    re: r(String.raw`${B}sk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_-]{80,}`),
    score: 0.98,
  },
  { kind: "google_api_key", gate: ["AIza"], re: r(`${B}AIza[0-9A-Za-z_-]{35}${E}`), score: 0.9 },
  {
    kind: "google_oauth_token",
    gate: ["ya29."],
    re: r(String.raw`${B}ya29\.[0-9A-Za-z_-]{30,}`),
    score: 0.85,
  },
  {
    kind: "gcp_service_account",
    gate: ["service_account"],
    re: r(String.raw`"type"\s{0,5}:\s{0,5}"service_account"`),
    score: 0.7,
  },
  {
    kind: "gcp_private_key_id",
    gate: ["private_key_id"],
    re: r(String.raw`"private_key_id"\s{0,5}:\s{0,5}"([a-z0-9]{20,})"`),
    group: 1,
    score: 0.7,
  },
  {
    kind: "azure_client_secret",
    gate: ["Q~"],
    re: r(String.raw`${B}[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}${E}`),
    score: 0.9,
  },
  {
    kind: "azure_storage_key",
    gate: ["AccountKey="],
    re: r(`AccountKey=([A-Za-z0-9+/]{86}==)`),
    group: 1,
    score: 0.95,
  },
  {
    kind: "azure_identifier",
    // Every UUID holds "-xxxx-xxxx-".
    gateUuid: true,
    re: r(
      String.raw`(?:azure|ad|arm|aad)[_.-]?(?:tenant|client|subscription|app)[_.-]?id["']?\s{0,5}(?::=|=>|[:=])\s{0,5}["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`,
      "i",
    ),
    group: 1,
    score: 0.6,
  },
  {
    kind: "sendgrid_api_key",
    gate: ["SG."],
    re: r(String.raw`SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}${E}`),
    score: 0.97,
  },
  { kind: "huggingface_token", gate: ["hf_"], re: r(`${B}hf_[A-Za-z]{34}${E}`), score: 0.9 },
  {
    kind: "databricks_token",
    gate: ["dapi"],
    re: r(String.raw`${B}dapi[a-fA-F0-9]{32}(?:-\d)?${E}`),
    score: 0.9,
  },
  {
    kind: "vercel_token",
    gate: ["vcp_", "vci_", "vck_", "vcr_", "vca_"],
    re: r(`${B}vc[pikra]_[A-Za-z0-9]{24,}${E}`),
    score: 0.9,
  },
  { kind: "figma_token", gate: ["figd_"], re: r(`${B}figd_[A-Za-z0-9_-]{40,}`), score: 0.9 },
  { kind: "notion_token", gate: ["ntn_"], re: r(String.raw`${B}ntn_\d{11}[A-Za-z0-9]{35}${E}`), score: 0.9 },
  { kind: "linear_api_key", gate: ["lin_api_"], re: r(`${B}lin_api_[A-Za-z0-9]{32,64}${E}`), score: 0.95 },
  { kind: "groq_api_key", gate: ["gsk_"], re: r(`${B}gsk_[A-Za-z0-9]{52}${E}`), score: 0.95 },
  {
    kind: "cloudflare_api_token",
    gate: ["cfat_", "cfut_", "cfk_"],
    re: r(`${B}cf(?:at|ut|k)_[A-Za-z0-9]{40,48}${E}`),
    score: 0.9,
  },
  { kind: "docker_pat", gate: ["dckr_pat_"], re: r(`${B}dckr_pat_[A-Za-z0-9_-]{27,}`), score: 0.95 },
  {
    kind: "shopify_token",
    gate: ["shpss_", "shpat_", "shpca_", "shppa_"],
    re: r(`${B}shp(?:ss|at|ca|pa)_[A-Za-z0-9]{32}${E}`),
    score: 0.95,
  },
  {
    kind: "onepassword_service_token",
    gate: ["ops_eyJ"],
    re: r(`${B}ops_eyJ[A-Za-z0-9+/=_-]{100,}`),
    score: 0.95,
  },
  {
    kind: "tailscale_key",
    gate: ["tskey-"],
    re: r(`(?<![A-Za-z])tskey-[a-z]{2,12}-[A-Za-z0-9]{6,}-[A-Za-z0-9]{10,}`),
    score: 0.95,
  },
  {
    kind: "vault_token",
    gate: ["hvs.", "hvb.", "hvr."],
    re: r(String.raw`(?<![A-Za-z])hv[sbr]\.[A-Za-z0-9_-]{24,}`),
    score: 0.95,
  },
  { kind: "npm_token", gate: ["npm_"], re: r(`${B}npm_[A-Za-z0-9]{36}${E}`), score: 0.95 },
  { kind: "pypi_token", gate: ["pypi-"], re: r(`${B}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`), score: 0.97 },
  { kind: "twilio_api_key", gate: ["SK"], re: r(`${B}SK[0-9a-f]{32}${E}`), score: 0.7 },
  { kind: "mailgun_api_key", gate: ["key-"], re: r(`${B}key-[0-9a-f]{32}${E}`), score: 0.7 },
  {
    kind: "telegram_bot_token",
    gate: [":AA"],
    re: r(String.raw`${B}\d{8,10}:AA[0-9A-Za-z_-]{33}${E}`),
    score: 0.9,
  },
  {
    kind: "discord_webhook",
    gate: ["/api/webhooks/"],
    re: r(String.raw`https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,}/[A-Za-z0-9_-]{30,}`),
    score: 0.95,
  },
  {
    kind: "jwt",
    gate: ["eyJ"],
    re: r(String.raw`${B}eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
    score: 0.8,
    validate: (v) => {
      try {
        const header = JSON.parse(Buffer.from(v.split(".")[0], "base64url").toString("utf8"));
        return typeof header === "object" && header !== null && "alg" in header;
      } catch {
        return false;
      }
    },
  },
  {
    kind: "crypto_private_key",
    gate: ["0x"],
    re: r(`${B}0x[0-9a-fA-F]{64}(?![0-9a-fA-F])`),
    score: 0.6,
    validate: (v) => shannonEntropy(v.slice(2)) > 3,
  },
  {
    kind: "kubernetes_secret",
    gate: ["Secret"],
    re: r(String.raw`(?:^|\n)kind:\s{0,5}Secret\s{0,5}(?:\n|$)`),
    score: 0.7,
  },
];
