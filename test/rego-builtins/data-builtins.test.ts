import { describe, expect, it } from "vitest";
import { errorOf, evalRego, value } from "./helpers.js";

describe("time.*", () => {
  it("parses and formats Go layouts, in time zones", () => {
    expect(value('time.parse_ns("2006-01-02", "2020-02-02")')).toBe(1580601600000000000n);
    expect(value('time.parse_rfc3339_ns("2020-04-02T18:33:41.593912Z")')).toBe(1585852421593912000n);
    expect(
      value('time.format([1585852421593912000, "America/New_York", "Mon Jan _2 15:04:05 MST 2006"])'),
    ).toBe("Thu Apr  2 14:33:41 EDT 2020");
    expect(value("time.format(0)")).toBe("1970-01-01T00:00:00Z");
    expect(value('time.parse_duration_ns("1h30m")')).toBe(5_400_000_000_000);
  });

  it("calendar arithmetic and range errors", () => {
    expect(value("time.add_date(1585852421593912000, 3, 9, 12)")).toBe(1705257221593912000n);
    expect(value("time.weekday(1517918400000000000)")).toBe("Tuesday");
    expect(value('time.clock([1585852421593912000, "UTC"])')).toEqual([18, 33, 41]);
    expect(errorOf("time.add_date(0, 2262, 1, 1)")?.message).toContain("time outside of valid range");
    expect(errorOf('time.parse_ns("2006-01-02", "2020-13-01")')?.code).toBe("eval_builtin_error");
  });

  it("timestamps as OPA reads them: [ns, tz] for add_date, fractions are too big, only OPA's layout names", () => {
    // 2020-03-08 is the US DST switch: adding a day in New York keeps the wall clock.
    const ny = value(
      'time.add_date([time.parse_rfc3339_ns("2020-03-07T12:00:00-05:00"), "America/New_York"], 0, 0, 1)',
    );
    expect(value(`time.format([${ny}, "America/New_York"])`)).toBe("2020-03-08T12:00:00-04:00");
    expect(errorOf("time.date(1.5)")?.message).toContain("timestamp too big");
    expect(value('time.format([0, "UTC", "Kitchen"])')).toBe("Kitchen");
    expect(value('time.format([0, "UTC", "RFC1123"])')).toBe("Thu, 01 Jan 1970 00:00:00 UTC");
  });

  it("now_ns is fixed within one query", () => {
    const r = evalRego("a := time.now_ns(); b := time.now_ns()", { nowNs: 42n });
    expect(r.results).toEqual([{ a: 42, b: 42 }]);
  });
});

describe("net.cidr_*", () => {
  it("contains, intersects, merge and expand", () => {
    expect(value('net.cidr_contains("10.0.0.0/8", "10.1.2.3")')).toBe(true);
    expect(value('net.cidr_contains("2001:db8::/32", "2001:db8:1::/48")')).toBe(true);
    expect(value('net.cidr_intersects("192.168.0.0/16", "192.168.1.0/24")')).toBe(true);
    expect(value('net.cidr_merge(["192.0.128.0/24", "192.0.129.0/24", "fe80::1/128"])')).toEqual([
      "192.0.128.0/23",
      "fe80::1/128",
    ]);
    expect(value('net.cidr_expand("192.168.1.1/30")')).toEqual([
      "192.168.1.0",
      "192.168.1.1",
      "192.168.1.2",
      "192.168.1.3",
    ]);
    expect(errorOf('net.cidr_expand("192.168.1.1/33")')?.message).toContain("invalid CIDR address");
  });
});

describe("units, semver, uuid, hashes", () => {
  it("units.parse keeps large results exact", () => {
    expect(value('units.parse("100Pi")')).toBe(112589990684262400n);
    expect(value('units.parse("500m")')).toBe(0.5);
    expect(value('units.parse_bytes("2MiB")')).toBe(2097152);
    expect(errorOf('units.parse("100 k")')?.message).toContain("spaces not allowed");
  });

  it("semver and uuid", () => {
    expect(value('semver.compare("1.2.3", "1.10.0")')).toBe(-1);
    expect(value('semver.is_valid("v1.2.3")')).toBe(false);
    expect(value('uuid.parse("00000000-0000-4000-8000-000000000000")')).toEqual({
      variant: "RFC4122",
      version: 4,
    });
    const r = evalRego('a := uuid.rfc4122("k"); b := uuid.rfc4122("k")');
    expect(r.results[0].a).toBe(r.results[0].b);
  });

  it("hashes and HMAC", () => {
    expect(value('crypto.sha256("abc")')).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(value('crypto.hmac.sha256("msg", "key")')).toBe(
      "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628",
    );
  });
});

describe("json / objects / graphs", () => {
  it("json.patch (RFC 6902) and failures as undefined", () => {
    expect(
      value(
        'json.patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "replace", "path": "/a/0", "value": 0}])',
      ),
    ).toEqual({
      a: [0, 2, 3],
    });
    expect(value('json.patch([1], [{"op": "remove", "path": "/5"}])')).toBeUndefined();
  });

  it("json.filter / json.remove / object.union", () => {
    expect(value('json.filter({"a": {"b": 1, "c": 2}, "d": 3}, ["a/b", "d"])')).toEqual({
      a: { b: 1 },
      d: 3,
    });
    expect(value('json.remove({"a": [{"b": 7, "c": 8}, {"d": 9}]}, {"a/0/b", "a/1"})')).toEqual({
      a: [{ c: 8 }],
    });
    expect(value('object.union({"a": {"b": 1}}, {"a": {"c": 2}})')).toEqual({ a: { b: 1, c: 2 } });
    expect(errorOf('object.remove([], ["a"])')?.message).toContain(
      "object.remove: operand 1 must be object but got array",
    );
  });

  it("json.marshal escapes like Go, marshal_with_options indents", () => {
    expect(value('json.marshal({"b": "<&>", "a": 1})')).toBe('{"a":1,"b":"\\u003c\\u0026\\u003e"}');
    expect(value('json.marshal_with_options([1], {"indent": " "})')).toBe("[\n 1\n]");
  });

  it("graph.reachable_paths and walk", () => {
    expect(value('graph.reachable_paths({"a": ["b", "c"], "b": ["c"], "c": []}, {"a"})')).toEqual([
      ["a", "b", "c"],
      ["a", "c"],
    ]);
    expect(value('[p | walk({"a": [1]}, [p, _])]')).toEqual([[], ["a"], ["a", 0]]);
  });
});

describe("numbers and casts", () => {
  it("bits and to_number errors use OPA's wording", () => {
    expect(value("bits.lsh(9223372036854775807, 1)")).toBe(18446744073709551614n);
    expect(errorOf('bits.and("a", 1)')?.message).toContain(
      "bits.and: operand 1 must be integer but got string",
    );
    expect(errorOf("bits.rsh(1, -1)")?.message).toContain(
      "must be an unsigned integer number but got a negative integer",
    );
    expect(errorOf('to_number("-Inf")')).toMatchObject({
      code: "eval_type_error",
      message: expect.stringContaining("operand 1 must be valid number string but got string"),
    });
    expect(value('to_number("-42.0")')).toBe(-42);
    expect(value("object.subset([1, 2, 3], {3, 1})")).toBe(true);
    expect(value("object.subset([1, 2, 3], [2, 3])")).toBe(true);
    expect(value("object.subset([1, 2, 3], [3, 2])")).toBe(false);
    expect(errorOf("object.subset({1}, [1])")?.code).toBe("eval_type_error");
  });
});

describe("strict builtin errors", () => {
  it("an erroring builtin is undefined unless strict", () => {
    expect(evalRego('x := to_number("nope")').results).toEqual([]);
    expect(evalRego('x := to_number("nope")').error).toBeUndefined();
    expect(evalRego('x := to_number("nope")', { strict: true }).error?.message).toContain("invalid syntax");
  });
});
