import { describe, expect, it } from "vitest";
import { maxMatchLength, UNBOUNDED_CAP } from "../../src/scan/detectors/match-span.js";
import { detectPii } from "../../src/scan/detectors/pii.js";
import { detectSecrets } from "../../src/scan/detectors/secrets.js";
import { piiCandidates } from "../../src/scan/pii-candidates.js";
import { codeUnits, findCandidates, tokenRuns } from "../../src/scan/runs.js";

describe("maxMatchLength", () => {
  it("adds up literals, classes, bounded repetition and the longest branch", () => {
    expect(maxMatchLength("abc")).toBe(3);
    expect(maxMatchLength("a(?:bc|d{2,5})[^y]{0,10}?")).toBe(1 + 5 + 10);
    expect(maxMatchLength("\\bfoo\\b(?=x)(?<!y)")).toBe(3);
    expect(maxMatchLength("a\\s+b")).toBe(2 + UNBOUNDED_CAP);
    expect(maxMatchLength("(?<name>ab)\\u0041\\x41")).toBe(4);
  });

  it("gives up (Infinity) on back-references", () => {
    expect(maxMatchLength("(a)\\1")).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("findCandidates", () => {
  it("finds the same token runs as tokenRuns", () => {
    const text = "key AKIAIOSFODNN7EXAMPLE and https://example.com/a/b?c=d, short words only";
    expect(findCandidates(text).runs).toEqual(tokenRuns(text, 12));
  });

  it("finds digit spans with their digit and dot counts, starting at a digit, + or (", () => {
    const text = "call (555) 123-4567 or 10.0.0.1; year 2024 and 12 apples";
    const spans = findCandidates(text).digitSpans.map((s) => [
      text.slice(s.start, s.end).trim(),
      s.digits,
      s.dots,
    ]);
    expect(spans).toEqual([
      ["(555) 123-4567", 10, 0],
      ["10.0.0.1", 5, 3],
      ["2024", 4, 0],
    ]);
  });
});

// Reference: the plain definition, one character at a time (runs.ts skips ahead and uses a regex).
function referenceCandidates(text: string, minRun: number) {
  const token = /[A-Za-z0-9+/=_.~-]/;
  const runs: Array<{ start: number; end: number }> = [];
  const spans: Array<{ start: number; end: number; digits: number; dots: number }> = [];
  let runStart = -1;
  let span: { start: number; end: number; digits: number; dots: number } | null = null;
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text[i] : "";
    if (ch && token.test(ch)) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart >= minRun) runs.push({ start: runStart, end: i });
      runStart = -1;
    }
    if (span && ch && /[0-9 .()+-]/.test(ch)) {
      if (/[0-9]/.test(ch)) span.digits++;
      else if (ch === ".") span.dots++;
    } else {
      if (span && span.digits >= 4) spans.push({ ...span, end: i });
      span =
        ch && /[0-9+(]/.test(ch) ? { start: i, end: i, digits: /[0-9]/.test(ch) ? 1 : 0, dots: 0 } : null;
    }
  }
  return { runs, spans };
}

describe("candidates against the plain definition", () => {
  it("agrees on random text made of the boundary characters", () => {
    const alphabet = [
      "a",
      "Z",
      "0",
      "7",
      "+",
      "/",
      "=",
      "_",
      ".",
      "~",
      "-",
      " ",
      "(",
      ")",
      ",",
      "é",
      "\n",
      ":",
    ];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 400; k++) {
      // Long token stretches and short ones, so runs land around every length.
      let text = "";
      const len = rand(120);
      while (text.length < len) {
        const ch = alphabet[rand(alphabet.length)];
        text += rand(4) === 0 ? ch.repeat(rand(20)) : ch;
      }
      for (const minRun of [1, 7, 8, 12, 24]) {
        const ref = referenceCandidates(text, minRun);
        expect(tokenRuns(text, minRun), JSON.stringify(text)).toEqual(ref.runs);
        if (minRun === 12) {
          expect(findCandidates(text).runs).toEqual(ref.runs);
          expect(findCandidates(text).digitSpans, JSON.stringify(text)).toEqual(ref.spans);
        }
      }
    }
  });
});

describe("token runs of long texts (searched from the start and from the middle)", () => {
  it("agrees with the plain definition around the middle, on runs crossing it and on all-token text", () => {
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ["word ", "a", "Z9", "-", " ", "\n", "é", "😀", "x".repeat(13), "y".repeat(40), "—"];
    const texts = ["a".repeat(3000), `${"b".repeat(1500)} ${"c".repeat(1499)}`, " ".repeat(500)];
    for (let k = 0; k < 300; k++) {
      let text = "";
      const len = 200 + rand(3000);
      while (text.length < len) text += pieces[rand(pieces.length)];
      texts.push(text);
      // A long run over the middle, and one ending or starting right at it.
      const middle = text.length >> 1;
      texts.push(`${text.slice(0, middle - 20)}${"k".repeat(40)}${text.slice(middle + 20)}`);
      texts.push(`${text.slice(0, middle)} ${"m".repeat(30)} ${text.slice(middle)}`);
    }
    for (const text of texts)
      for (const minRun of [8, 12, 24])
        expect(tokenRuns(text, minRun), `${minRun} ${JSON.stringify(text)}`).toEqual(
          referenceCandidates(text, minRun).runs,
        );
  });
});

describe("PII candidates against their regexes", () => {
  // The definitions piiCandidates stands for (src/scan/pii-candidates.ts).
  function reference(text: string) {
    const spans = [...text.matchAll(/[0-9+(][0-9 .()+-]{3,}/g)]
      .map((m) => ({
        start: m.index,
        end: m.index + m[0].length,
        digits: m[0].replace(/[^0-9]/g, "").length,
        dots: m[0].replace(/[^.]/g, "").length,
      }))
      .filter((s) => s.digits >= 4);
    return {
      spans,
      hasDigit: /\d/.test(text),
      ibanGate: /[A-Z]{2}\d\d/.test(text),
      idLabel: /[Ll][Ii][Cc][Ee][Nn]|[Pp][Aa][Ss][Ss][Pp][Oo][Rr][Tt]|\b[Dd][Ll]\b/.test(text),
    };
  }

  it("agrees on random text of labels, digits, separators and look-alike code units", () => {
    // Code units whose low 7 bits are a digit or a label letter ("\u2013" -> "3", "é" -> "i", ...)
    // must not be taken for them; "_" and digits glued to "dl" make it no word of its own.
    const pieces = [
      "licen",
      "LiCeN",
      "passport",
      "PASSPort",
      "pASSPORT",
      "dl",
      "DL",
      "Dl",
      " dl ",
      "_dl",
      "dl_",
      "dl5",
      "édl",
      "GB",
      "DE",
      "gb",
      "12",
      "7",
      "0",
      "+",
      "(",
      ")",
      ".",
      "-",
      " ",
      "  ",
      "a",
      "Z",
      "l",
      "i",
      "c",
      "e",
      "n",
      "d",
      "p",
      "s",
      "o",
      "r",
      "t",
      "\n",
      "\u2013",
      "\u2019",
      "\u00b3",
      "é",
      "\u0130",
      "\u0010",
      "\u0164",
    ];
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const buffer = Buffer.alloc(2 * 400 + 2);
    for (let k = 0; k < 10000; k++) {
      let text = "";
      const len = rand(60);
      while (text.length < len) {
        const piece = pieces[rand(pieces.length)];
        text += rand(5) === 0 ? piece.repeat(rand(6)) : piece;
      }
      const expected = reference(text);
      expect(piiCandidates(text, codeUnits(text)), JSON.stringify(text)).toEqual(expected);
      // Units at an offset that is not a multiple of 4 (copied first).
      buffer.write(text, 2, "utf16le");
      const shifted = new Uint16Array(buffer.buffer, buffer.byteOffset + 2, text.length);
      expect(piiCandidates(text, shifted), JSON.stringify(text)).toEqual(expected);
    }
  });
});

describe("detectors restricted to candidates", () => {
  it("finds PII whose neighbourhood matters for the look-aheads", () => {
    // A phone-shaped number glued to a word is not a phone number (look-ahead on the next char).
    expect(detectPii("ref 555-123-4567abc", { types: ["phone"] })).toEqual([]);
    expect(detectPii("Phone: (415) 555-2671.", { types: ["phone"] }).map((h) => h.kind)).toEqual(["phone"]);
    expect(detectPii("card 4111 1111 1111 1111 end", { types: ["credit_card"] })).toHaveLength(1);
    expect(detectPii("host 192.168.10.20, port", { types: ["ip_address"] })).toHaveLength(1);
  });

  it("finds credential assignments whose name sits inside a longer identifier", () => {
    const hits = detectSecrets('DB_PASSWORD="x9#Lq2vR7!pZ" and myApiKey: Zk82hdA91LmQ0pWx');
    expect(hits.map((h) => h.kind)).toEqual(["generic_secret", "generic_secret"]);
    // Non-ASCII text before a name (lower-casing can change lengths) keeps the positions right.
    const [hit] = detectSecrets('İİ token = "Q8zR2kLm9XwP4vT7"');
    expect(hit?.start).toBe('İİ token = "'.length);
  });

  it("finds credential words in any case, and only whole stems inside the name", () => {
    expect(detectSecrets("PassWord = Zk82hdA91LmQ0pWx").map((h) => h.kind)).toEqual(["generic_secret"]);
    expect(detectSecrets("X_ACCESS_TOKEN: Zk82hdA91LmQ0pWx").map((h) => h.kind)).toEqual(["generic_secret"]);
    expect(detectSecrets("Server=db;Uid=sa;PWD=R7t!kPz29xQ;").map((h) => h.kind)).toContain(
      "connection_string_password",
    );
    // "pas", "secre", "tokn": no stem, no assignment.
    expect(detectSecrets("pas = Zk82hdA91LmQ0pWx secre: Zk82hdA91LmQ0pWx tokn=Zk82hdA91LmQ0pWx")).toEqual([]);
  });

  it("gates rules on literals in the long token runs, in the case the rule asks for", () => {
    const secret = "q8Fz2LkP0vXn7RtY4uWm1SdJ6hGc3BaE9oKiQe5T";
    // Any case for the name-keyed AWS rules; the name is a long run when glued to its value.
    expect(detectSecrets(`Aws_Secret_Access_Key=${secret}`).map((h) => h.kind)).toContain("aws_secret_key");
    expect(detectSecrets("AWS_ACCOUNT_ID=1234-5678-9012").map((h) => h.kind)).toContain("aws_account_id");
    // Vendor prefixes are case-sensitive.
    expect(detectSecrets("GHP_aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xYzAbCd").map((h) => h.kind)).not.toContain(
      "github_token",
    );
    // The UUID gate takes hex digits of either case.
    const uuid = "AZURE_TENANT_ID=3F2504E0-4F89-11D3-9A0C-0305E82C3301";
    expect(detectSecrets(uuid.toLowerCase()).map((h) => h.kind)).toContain("azure_identifier");
    expect(detectSecrets(uuid).map((h) => h.kind)).toContain("azure_identifier");
    expect(detectSecrets(uuid.replace("-11D3-", "-11G3-")).map((h) => h.kind)).toEqual([]);
  });
});
