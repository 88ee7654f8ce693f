// The x-mcp-header declaration cache: learned from listings, dropped on list_changed, ignored after
// a downstream restart (the new process may declare other headers), loaded once per miss.
import { describe, expect, it } from "vitest";
import { ToolParamCache } from "../../src/server/tool-param-cache.js";

const tool = (name: string, header: string) => ({
  name,
  inputSchema: { type: "object", properties: { region: { type: "string", "x-mcp-header": header } } },
});
const headersOf = (decls: readonly unknown[]) => decls.map((d) => JSON.stringify(d));

describe("ToolParamCache", () => {
  it("loads a server's listing once per generation and re-reads it after a restart", async () => {
    const cache = new ToolParamCache();
    let loads = 0;
    let header = "Region";
    const load = async () => {
      loads++;
      return [tool("t", header)];
    };
    const [a, b] = await Promise.all([cache.lookup("s", 0, "t", load), cache.lookup("s", 0, "t", load)]);
    expect(loads).toBe(1);
    expect(a.length).toBe(1);
    expect(headersOf(b)).toEqual(headersOf(a));
    expect(cache.cached("s", 0, "t").length).toBe(1);

    // After a restart (generation 1) the old declarations are not used; the new listing is read.
    header = "Zone";
    expect(cache.cached("s", 1, "t")).toEqual([]);
    const c = await cache.lookup("s", 1, "t", load);
    expect(loads).toBe(2);
    expect(headersOf(c)).not.toEqual(headersOf(a));
    expect(JSON.stringify(c)).toContain("Zone");
  });

  it("forgets a server on list_changed and answers none for a tool the full listing lacks", async () => {
    const cache = new ToolParamCache();
    let loads = 0;
    const load = async () => {
      loads++;
      return [tool("t", "Region")];
    };
    expect(await cache.lookup("s", 0, "missing", load)).toEqual([]);
    expect(await cache.lookup("s", 0, "missing", load)).toEqual([]);
    expect(loads).toBe(1);
    cache.forget("s");
    expect(cache.cached("s", 0, "t")).toEqual([]);
    await cache.lookup("s", 0, "t", load);
    expect(loads).toBe(2);
  });

  it("does not let a listing from before a restart replace a newer one", async () => {
    const cache = new ToolParamCache();
    let release: (v: Array<Record<string, unknown>>) => void = () => {};
    const old = cache.lookup("s", 0, "t", () => new Promise((r) => (release = r)));
    await cache.lookup("s", 1, "t", async () => [tool("t", "New")]);
    release([tool("t", "Old")]);
    await old;
    expect(JSON.stringify(cache.cached("s", 1, "t"))).toContain("New");
  });
});
