import { describe, expect, it } from "vitest";
import { ibanValid, luhnValid, ssnValid } from "../../src/scan/checks.js";
import { detectPii } from "../../src/scan/detectors/pii.js";

const kinds = (text: string) => detectPii(text).map((h) => h.kind);

describe("PII detector", () => {
  it.each([
    ["email", "Contact jane.doe+news@mail.example.co.uk for details"],
    ["phone", "Call +44 20 7946 0958 after 5pm"],
    ["phone", "office: (415) 555-2671"],
    ["phone", "Phone: 0490 75 40 81"],
    ["credit_card", "card 4111 1111 1111 1111 exp 12/29"],
    ["credit_card", "amex 3782-822463-10005"],
    ["us_ssn", "SSN 123-45-6789"],
    ["iban", "IBAN GB82 WEST 1234 5698 7654 32"],
    ["iban", "DE89370400440532013000"],
    ["ip_address", "client 203.0.113.77 connected"],
    ["ip_address", "from fe80::1ff:fe23:4567:890a"],
    ["drivers_license", "My driver's license number is D1234-5678-90"],
    ["passport", "passport no: X12345678"],
  ])("finds %s in %j", (kind, text) => {
    expect(kinds(text)).toContain(kind);
  });

  it.each([
    ["Luhn-invalid card", "card 4111 1111 1111 1112"],
    ["SSN with area 000/666/9xx", "ids 000-12-3456, 666-12-3456, 912-34-5678"],
    ["SSN with group 00 or serial 0000", "123-00-4567 and 123-45-0000"],
    ["IBAN with a bad checksum", "GB82 WEST 1234 5698 7654 33"],
    ["dates and times", "on 2024-05-06 10:22:31 and 06/05/2024"],
    ["short numbers and prices", "order 12345, total $1,299.00, qty 3"],
    ["version-like numbers beyond IP range", "build 999.1.300.4"],
  ])("ignores %s", (_name, text) => {
    expect(detectPii(text)).toEqual([]);
  });

  it("rejects impossible North American numbers before parsing, and only those", () => {
    const phones = (text: string) =>
      detectPii(text, { types: ["phone"] }).map((h) => [text.slice(h.start, h.end), h.score]);
    // Valid: 10 digits, with a national prefix 1 or +1, a Canadian 7-digit 310 number, 011 + country.
    expect(phones("ring 1-800-555-0199 now")).toEqual([["1-800-555-0199", 0.8]]);
    expect(phones("ring +1 (415) 555-2671 now")).toEqual([["+1 (415) 555-2671", 0.8]]);
    expect(phones("ring 310-1234 now")).toEqual([["310-1234", 0.8]]);
    expect(phones("ring 011 44 20 7946 0958 now")).toEqual([["011 44 20 7946 0958", 0.8]]);
    // Invalid shapes: area code or exchange starting with 0/1, wrong lengths; a phone label still
    // makes a formatted number a (lower-scored) phone number.
    expect(phones("ids 123-456-7890, 212-055-0123, 1998-1999 and 555-1234")).toEqual([]);
    expect(phones("phone: 212-055-0123")).toEqual([["212-055-0123", 0.65]]);
  });

  it("validity helpers", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(ssnValid("123", "45", "6789")).toBe(true);
    expect(ssnValid("078", "05", "1120")).toBe(false); // the advertised Woolworth wallet number
    expect(ibanValid("GB82 WEST 1234 5698 7654 32")).toBe(true);
    expect(ibanValid("GB82WEST12345698765433")).toBe(false);
  });

  it("the set of PII types is configurable", () => {
    const text = "mail a@b.example, card 4111 1111 1111 1111";
    expect(detectPii(text, { types: ["email"] }).map((h) => h.kind)).toEqual(["email"]);
    expect(detectPii(text, { types: ["credit_card"] }).map((h) => h.kind)).toEqual(["credit_card"]);
    expect(detectPii(text, { allow: ["a@b.example"] }).map((h) => h.kind)).toEqual(["credit_card"]);
  });

  it("gives exact spans for redaction", () => {
    const text = "write to bob@example.org today";
    const [hit] = detectPii(text);
    expect(text.slice(hit.start, hit.end)).toBe("bob@example.org");
  });
});
