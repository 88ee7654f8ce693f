import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/program.js";

describe("warden CLI", () => {
  it("names itself and lists its version", () => {
    const program = buildProgram();
    expect(program.name()).toBe("warden");
    expect(program.version()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
