import { describe, expect, it } from "vitest";
import { buildFullProgram, buildProgram } from "../../src/cli/program.js";

describe("warden CLI", () => {
  it("names itself and lists its version", () => {
    const program = buildProgram();
    expect(program.name()).toBe("warden");
    expect(program.version()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("prints the same root help without importing the subcommands as with all of them", async () => {
    const full = await buildFullProgram();
    const root = buildProgram();
    expect(root.helpInformation()).toBe(full.helpInformation());
    expect(root.version()).toBe(full.version());
    expect(root.commands.map((c) => c.name())).toEqual(full.commands.map((c) => c.name()));
    expect(full.helpInformation()).toContain("scan [options] [file]");
  });
});
