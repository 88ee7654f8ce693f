import type { Approval } from "./store.js";

// Optional notification of new pending approvals. The payload is Slack incoming-webhook
// compatible (`text` + `blocks`) and carries only redacted arguments.

export function slackPayload(a: Approval, adminUrl?: string): Record<string, unknown> {
  const args = JSON.stringify(a.arguments, null, 2);
  const shown = args.length > 2500 ? `${args.slice(0, 2500)}…` : args;
  const text = `Approval needed: ${a.server}/${a.tool} requested by ${a.requester.user} (tenant ${a.tenant})`;
  const fields = [
    `*Approval id:* \`${a.id}\``,
    `*Reason:* ${a.reasons.join("; ") || "policy requires approval"}`,
    `*Expires:* ${a.expiresAt}`,
  ];
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${text}*` } },
      { type: "section", text: { type: "mrkdwn", text: fields.join("\n") } },
      { type: "section", text: { type: "mrkdwn", text: `\`\`\`${shown}\`\`\`` } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `Decide with \`warden approvals approve ${a.id}\` or \`warden approvals deny ${a.id} --comment …\`${
              adminUrl ? ` or ${adminUrl}` : ""
            }`,
          },
        ],
      },
    ],
  };
}

export interface WebhookNotifier {
  notify(a: Approval): Promise<void>;
}

export function resolveWebhookUrl(url: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!url.startsWith("env:")) return url;
  const v = env[url.slice(4)];
  if (!v) throw new Error(`approval webhook: environment variable ${url.slice(4)} is not set`);
  return v;
}

/** Posts the payload; failures are reported to `onError`, never to the caller of the tool. */
export function createWebhookNotifier(
  cfg: { url: string; timeoutMs: number; adminUrl?: string },
  onError: (err: Error) => void = () => {},
): WebhookNotifier {
  const url = resolveWebhookUrl(cfg.url);
  return {
    async notify(a) {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(slackPayload(a, cfg.adminUrl)),
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
        if (!res.ok) onError(new Error(`approval webhook answered ${res.status}`));
        await res.body?.cancel();
      } catch (e) {
        onError(e as Error);
      }
    },
  };
}
