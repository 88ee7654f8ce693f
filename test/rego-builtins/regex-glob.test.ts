import { describe, expect, it } from "vitest";
import { errorOf, value } from "./helpers.js";

describe("regex.* (RE2 semantics)", () => {
  it("matches, splits, finds and replaces like Go's regexp", () => {
    expect(value('regex.match("^[a-z]+\\\\d$", "abc1")')).toBe(true);
    expect(value('regex.split("a*", "baaac")')).toEqual(["b", "c"]);
    expect(value('regex.find_n("[0-9]+", "a1b22c333", 2)')).toEqual(["1", "22"]);
    expect(value('regex.find_all_string_submatch_n("(a)(b)?", "ab a", -1)')).toEqual([
      ["ab", "a", "b"],
      ["a", "a", ""],
    ]);
    const goTemplate = ["$", "{2}-$1"].join(""); // Go's ${n} replacement syntax
    expect(value(`regex.replace("hello world", "(\\\\w+) (\\\\w+)", "${goTemplate}")`)).toBe("world-hello");
    expect(value('regex.template_match("urn:foo:{.*}", "urn:foo:bar:baz", "{", "}")')).toBe(true);
  });

  it("is linear time: a catastrophic-backtracking pattern returns promptly", () => {
    const long = `${"a".repeat(50_000)}b`;
    expect(value(`regex.match("^(a+)+$", "${long}")`)).toBe(false);
    expect(value(`regex.match("(x+x+)+y", "${"x".repeat(20_000)}")`)).toBe(false);
  });

  it("rejects invalid patterns (error, or false from is_valid)", () => {
    expect(value('regex.is_valid("(")')).toBe(false);
    expect(value("regex.is_valid(1)")).toBe(false);
    expect(errorOf('regex.match("(", "x")')).toMatchObject({
      code: "eval_builtin_error",
      message: expect.stringContaining("missing closing )"),
    });
  });

  it("globs_match decides whether two simple patterns intersect", () => {
    expect(value('regex.globs_match("a.a.[0-9]+z", ".b.b2359825792*594823z")')).toBe(true);
    expect(value('regex.globs_match("a+", "b+")')).toBe(false);
  });
});

describe("glob.match (gobwas semantics)", () => {
  it("* stops at delimiters, ** does not, [] and {} work", () => {
    expect(value('glob.match("*.github.com", ["."], "api.github.com")')).toBe(true);
    expect(value('glob.match("*.github.com", ["."], "a.b.github.com")')).toBe(false);
    expect(value('glob.match("**.github.com", ["."], "a.b.github.com")')).toBe(true);
    expect(value('glob.match("[!a-c]at", [], "fat")')).toBe(true);
    expect(value('glob.match("{cat,bat,[fr]at}", [], "rat")')).toBe(true);
    expect(value('glob.match("?at", [], "at")')).toBe(false);
  });

  it("an empty delimiter list means '.', null means none", () => {
    expect(value('glob.match("*", [], "foo.bar")')).toBe(false);
    expect(value('glob.match("*", null, "foo.bar")')).toBe(true);
  });

  it("quote_meta escapes glob syntax", () => {
    expect(value('glob.quote_meta("*.github.com")')).toBe("\\*.github.com");
  });
});
