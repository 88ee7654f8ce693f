import { describe, expect, it } from "vitest";
import { callHash, canonicalJson } from "../../src/approval/callHash.js";
import { redactArguments } from "../../src/approval/redact.js";
import { elicitationRequest } from "../../src/approval/stage.js";

describe("callHash", () => {
  const base = { server: "fs", tool: "write", arguments: { a: 1, b: { c: [1, 2] } }, tenant: "t", user: "u" };
  it("ignores key order but nothing else", () => {
    expect(callHash(base)).toBe(callHash({ ...base, arguments: { b: { c: [1, 2] }, a: 1 } }));
    for (const change of [
      { server: "fs2" },
      { tool: "read" },
      { tenant: "t2" },
      { user: "u2" },
      { arguments: { a: 1, b: { c: [2, 1] } } },
      { arguments: { a: "1", b: { c: [1, 2] } } },
    ]) {
      expect(callHash({ ...base, ...change })).not.toBe(callHash(base));
    }
  });
  it("canonical JSON sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: undefined }] })).toBe('{"a":[{"d":1}],"b":1}');
  });
});

describe("redactArguments", () => {
  it("masks secrets by key and by value shape, and bounds size", () => {
    const out = redactArguments({
      path: "/tmp/a",
      password: "hunter2",
      nested: { apiKey: "x", note: "use sk-abcdefghijklmnopqrstuvwx please", jwt: 1 },
      aws: "AKIAABCDEFGHIJKLMNOP",
      long: "x".repeat(500),
      list: Array.from({ length: 60 }, (_, i) => i),
    }) as Record<string, unknown>;
    expect(out.path).toBe("/tmp/a");
    expect(out.password).toBe("[redacted]");
    expect(out.nested).toEqual({ apiKey: "[redacted]", note: "[redacted]", jwt: 1 });
    expect(out.aws).toBe("[redacted]");
    expect(String(out.long)).toMatch(/… \(500 chars\)$/);
    expect((out.list as unknown[]).length).toBe(51);
  });

  it("the elicitation summary names tool, server and reasons and carries no secret", () => {
    const req = elicitationRequest({
      callHash: "h",
      subject: { user: "u", tenant: "t", roles: [], scopes: [], authMethod: "api_key" },
      server: "fs",
      tool: "delete_file",
      arguments: redactArguments({ path: "/x", token: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }),
      reasons: ["high risk"],
    });
    const message = String(req.message);
    expect(message).toMatch(/Tool: delete_file/);
    expect(message).toMatch(/Server: fs/);
    expect(message).toMatch(/Reason: high risk/);
    expect(message).not.toContain("ghp_");
    expect(req.requestedSchema).toMatchObject({ type: "object", required: ["approve"] });
  });
});
