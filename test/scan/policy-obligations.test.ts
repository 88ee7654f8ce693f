// Policy obligations on arguments, end to end: a real warden (HTTP front door on 127.0.0.1) with
// the scan stage, the policy stage on a Rego policy that returns obligations, and the post-policy
// argument stage, in front of the echo fixture server over stdio. The echo shows what reached
// the downstream server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policyConfigSchema } from "../../src/policy/config.js";
import { createGovernance, type Governance } from "../../src/policy/governance.js";
import { createPolicyArgumentStage, createScanStage } from "../../src/scan/stage.js";
import type { Warden } from "../../src/server/warden.js";
import { fixture, httpClient, makeWarden, textOf } from "../proxy/helpers.js";

const POLICY = `package warden

import rego.v1

obligations contains {"type": "redact", "direction": "in", "fields": ["/text", "/nested/pin"]} if {
  input.request.arguments.confidential == true
}

obligations contains {"type": "redact", "direction": "in", "detectors": ["pii"]} if {
  input.request.tool == "echo"
}

obligations contains {"type": "block", "direction": "in", "detectors": ["secrets"], "reason": "secret in arguments"} if {
  input.request.tool == "echo"
}

decision := {"allow": true, "obligations": [o | some o in obligations]}
`;

let dir: string;
let gov: Governance;
let warden: Warden;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "warden-scan-policy-in-"));
  mkdirSync(path.join(dir, "policies"));
  writeFileSync(path.join(dir, "policies", "main.rego"), POLICY);
  gov = await createGovernance({
    configDir: dir,
    environment: "test",
    policy: policyConfigSchema.parse({ paths: ["policies"], filterTools: false }),
    signals: false,
  });
  const scanConfig = { pins: { enabled: false } };
  warden = await makeWarden({
    servers: { echo: fixture("echo") },
    registry: { servers: { echo: { tools: ["echo"] } } },
    stages: [
      createScanStage({ config: scanConfig }),
      gov.policyStage as NonNullable<Governance["policyStage"]>,
      createPolicyArgumentStage({ config: scanConfig }),
    ],
  });
  const url = (await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url;
  client = await httpClient(url, "policy-in");
}, 60_000);

afterAll(async () => {
  await client?.close();
  await warden?.close();
  await gov?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("policy obligations on arguments run before the call is forwarded", () => {
  it("redacts the fields policy names", async () => {
    const r = await client.callTool({
      name: "echo__echo",
      arguments: { text: "launch codes 0000", confidential: true, nested: { pin: "1234" } },
    });
    expect(textOf(r)).toBe("echo: [REDACTED:field]");
  });

  it("redacts detector matches policy asks for (PII here)", async () => {
    const r = await client.callTool({
      name: "echo__echo",
      arguments: { text: "mail bob.smith@example.org today" },
    });
    expect(textOf(r)).toBe("echo: mail [REDACTED:email] today");
  });

  it("blocks the call when policy's block obligation matches a finding of the scan stage", async () => {
    const token = `ghp_${"aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"}`;
    await expect(
      client.callTool({ name: "echo__echo", arguments: { text: `use ${token}` } }),
    ).rejects.toThrow(/secret in arguments/);
  });

  it("leaves calls without obligations alone", async () => {
    const r = await client.callTool({ name: "echo__echo", arguments: { text: "hello there" } });
    expect(textOf(r)).toBe("echo: hello there");
  });
});
