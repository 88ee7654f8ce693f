import { describe, expect, it } from "vitest";
import { crc32, githubChecksumValid } from "../../src/scan/checks.js";
import { detectSecrets } from "../../src/scan/detectors/secrets.js";

const kinds = (text: string) => detectSecrets(text).map((h) => h.kind);

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function githubToken(body30: string): string {
  let n = crc32(body30);
  let sum = "";
  for (let i = 0; i < 6; i++) {
    sum = BASE62[n % 62] + sum;
    n = Math.floor(n / 62);
  }
  return `ghp_${body30}${sum}`;
}

describe("secret detector", () => {
  it.each([
    ["aws_access_key", "aws_access_key_id = AKIAZ7Q4MPLW2XKD9R3T"],
    ["aws_secret_key", 'AWS_SECRET_ACCESS_KEY="q8Fz2LkP0vXn7RtY4uWm1SdJ6hGc3BaE9oKiQe5T"'],
    ["gitlab_token", "export GITLAB_TOKEN=glpat-Qx7rT2mZ9kLp4WvN8sYb"],
    ["slack_token", "SLACK_BOT=xoxb-918273645012-5647382910123-rT8kLm2Qz9XvB4nW"],
    ["slack_webhook", "https://hooks.slack.com/services/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"],
    ["stripe_secret_key", "stripe.api_key = 'sk_live_51Hx7kQ2mZ9rLp4WvN8sYbT3c'"],
    ["openai_api_key", "OPENAI_API_KEY=sk-proj-Ab12Cd34Ef56Gh78Ij90T3BlbkFJKl12Mn34Op56Qr78St90"],
    ["anthropic_api_key", `key: sk-ant-api03-${"aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY".repeat(3)}-AA`],
    ["google_api_key", "AIzaSyB7xQ2mZ9rLp4WvN8sYbT3cK1dF6gH0jE5"],
    ["sendgrid_api_key", `SG.${"a1B2c3D4e5F6g7H8i9J0kL"}.${"M1n2O3p4Q5r6S7t8U9v0W1x2Y3z4A5b6C7d8E9f0G1h"}`],
    [
      "jwt",
      "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIiwicm9sZSI6ImFkbWluIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
    ],
    [
      "private_key",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3s0Xn2kP9\n-----END RSA PRIVATE KEY-----",
    ],
    ["connection_string_password", "DATABASE_URL=postgres://app:V9x!q2Lm7Rt@db.internal:5432/prod"],
    ["url_credentials", "curl https://deploy:Kp7xQ2mZr9@ci.example.org/hook"],
    ["connection_string_password", "Server=tcp:sql1;Database=app;User Id=sa;Password=R7t!kPz29xQ;"],
    ["generic_secret", 'client_secret: "Xk9mP2vL8qR4wT7zN3bY"'],
  ])("finds %s", (kind, text) => {
    expect(kinds(text)).toContain(kind);
  });

  it("gives GitHub tokens with a valid CRC32 checksum a higher score than look-alikes", () => {
    const good = githubToken("Zx8Kq2LmP9rT4vW7yB3nC6dF1gH5jQ");
    expect(githubChecksumValid(good)).toBe(true);
    const bad = `${good.slice(0, -1)}${good.endsWith("A") ? "B" : "A"}`;
    expect(githubChecksumValid(bad)).toBe(false);
    const [g] = detectSecrets(`token ${good}`);
    const [b] = detectSecrets(`token ${bad}`);
    expect(g.kind).toBe("github_token");
    expect(g.score).toBeGreaterThan(b.score);
  });

  it.each([
    ["documented AWS example key", "AKIAIOSFODNN7EXAMPLE"],
    ["documented AWS example secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style template is the test input
    ["template variables", "postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app"],
    ["placeholder password", 'password = "your_password_here"'],
    ["low-entropy value", 'password = "aaaaaaaaaa"'],
    [
      "prefix glued to a word",
      "xghp_Zx8Kq2LmP9rT4vW7yB3nC6dF1gH5jQabcdef and mydapi1234567890abcdef1234567890abcdef",
    ],
    ["publishable Stripe key", "pk_live_51Hx7kQ2mZ9rLp4WvN8sYbT3c"],
    ["a sha256 digest", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ["prose", "The token bucket algorithm limits the rate; the secret to success is patience."],
  ])("ignores %s", (_name, text) => {
    expect(detectSecrets(text)).toEqual([]);
  });

  it("honours an allow-list and never puts the secret itself in the evidence", () => {
    const text = "key=AKIAZ7Q4MPLW2XKD9R3T";
    expect(detectSecrets(text, { allow: ["AKIAZ7Q4MPLW2XKD9R3T"] })).toEqual([]);
    const [hit] = detectSecrets(text);
    expect(hit.evidence).not.toContain("AKIAZ7Q4MPLW2XKD9R3T");
    expect(text.slice(hit.start, hit.end)).toBe("AKIAZ7Q4MPLW2XKD9R3T");
  });
});
