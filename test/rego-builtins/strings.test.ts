import { describe, expect, it } from "vitest";
import { goFormatFloat, goSprintf } from "../../src/rego/builtins/gofmt.js";
import { errorOf, value } from "./helpers.js";

describe("sprintf (Go fmt verbs)", () => {
  it("formats integers, floats, strings and composites like Go", () => {
    expect(value('sprintf("%d|%5d|%-5d|%05d|%x|%X|%o|%b", [42, 42, 42, -42, 255, 255, 8, 5])')).toBe(
      "42|   42|42   |-0042|ff|FF|10|101",
    );
    expect(value('sprintf("%.2f|%e|%g|%v|%v", [2.71828, 123456.789, 0.00001234, 1.5, 100])')).toBe(
      "2.72|1.234568e+05|1.234e-05|1.5|100",
    );
    expect(value('sprintf("%s|%q|%v", ["hi", "a\\"b", ["x", 1, {"k": {1, 2}}]])')).toBe(
      'hi|"a\\"b"|["x", 1, {"k": {1, 2}}]',
    );
    expect(value('sprintf("%s", [123456789123456789123])')).toBe("123456789123456789123");
  });

  it("marks bad verbs, missing and extra arguments the way Go does", () => {
    expect(value('sprintf("%d %s", ["x"])')).toBe("%!d(string=x) %!s(MISSING)");
    expect(value('sprintf("%s", [1])')).toBe("%!s(int=1)");
    expect(value('sprintf("a", [1, "b"])')).toBe("a%!(EXTRA int=1, string=b)");
  });

  it("rounds halfway cases to even like strconv", () => {
    expect(goFormatFloat(2.5, "f", 0)).toBe("2");
    expect(goFormatFloat(0.125, "f", 2)).toBe("0.12");
    expect(goFormatFloat(1e21, "g", -1)).toBe("1e+21");
    expect(
      goSprintf("%6.2f|%+d|% d", [
        { kind: "float", v: 1.23456 },
        { kind: "int", v: 5n },
        { kind: "int", v: 5n },
      ]),
    ).toBe("  1.23|+5| 5");
  });

  it("raises OPA's type errors", () => {
    expect(errorOf("sprintf(1, [])")).toMatchObject({
      code: "eval_type_error",
      message: expect.stringContaining("sprintf: operand 1 must be string but got number"),
    });
  });
});

describe("string builtins", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(value('indexof("😀ab", "a")')).toBe(1);
    expect(value('substring("😀abc", 1, 2)')).toBe("ab");
    expect(value('count("😀x")')).toBe(2);
    expect(value('strings.reverse("a😀b")')).toBe("b😀a");
  });

  it("replace_n applies patterns in key order without overlap", () => {
    expect(value('strings.replace_n({"a": "b", "b": "c"}, "ab")')).toBe("bc");
    expect(errorOf('strings.replace_n({"a": 1}, "ab")')?.message).toContain(
      "non-string value found in pattern object",
    );
  });

  it("trim family, split_n, format_int", () => {
    expect(value('trim("  xx  ", " ")')).toBe("xx");
    expect(value('trim_space("\\t x \\n")')).toBe("x");
    expect(value('strings.split_n("a.b.c.d", ".", -2)')).toEqual(["c", "d"]);
    expect(value("format_int(-255, 16)")).toBe("-ff");
    expect(errorOf("format_int(1, 3)")?.message).toContain("operand 2 must be one of {2, 8, 10, 16}");
  });

  it("OPA's edge cases: empty search, Go case mapping", () => {
    expect(errorOf('indexof("abc", "")')?.message).toContain("indexof: empty search character");
    expect(value('upper("straße")')).toBe("STRAßE");
    expect(value('lower("İ")')).toBe("i");
    expect(value('split("abc", "x")')).toEqual(["abc"]);
    expect(value('replace("abc", "", "-")')).toBe("-a-b-c-");
  });

  it("substring with a negative offset is a builtin error", () => {
    expect(errorOf('substring("abc", -1, 1)')).toMatchObject({ code: "eval_builtin_error" });
  });
});
