// The byte-level event cap of the legacy SSE reader: counts one event's bytes (line ends not
// counted) across chunks and every SSE line-end form, and trips only when one event outgrows it.
import { describe, expect, it } from "vitest";
import { capSseEvents, sseEventCounter } from "../../src/upstream/sse-event-cap.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("sseEventCounter", () => {
  it("resets at the blank line that ends an event, with LF, CRLF or CR line ends", () => {
    for (const nl of ["\n", "\r\n", "\r"]) {
      const push = sseEventCounter(20);
      const event = `event: message${nl}data: 12345${nl}${nl}`; // 14 + 11 bytes without line ends
      expect(push(bytes(`data: 0123456789${nl}${nl}`))).toBe(true);
      expect(push(bytes(event))).toBe(false);
    }
  });

  it("accepts any number of events of up to the cap, split anywhere", () => {
    const push = sseEventCounter(16);
    const stream = `${"data: 0123456789\r\n\r\n".repeat(50)}: comment\n\n`;
    for (let i = 0; i < stream.length; i += 3) expect(push(bytes(stream.slice(i, i + 3)))).toBe(true);
  });

  it("counts an event's lines together until its blank line, across chunks", () => {
    const push = sseEventCounter(30);
    expect(push(bytes("data: aaaaaaaaaa\n"))).toBe(true); // 16 bytes
    expect(push(bytes("data: bbbbbbbbbb\r"))).toBe(false); // 32: over
  });
});

describe("capSseEvents", () => {
  it("passes a stream through unchanged, and fails it once an event is too large", async () => {
    const ok = capSseEvents(new Response("data: hi\n\ndata: there\n\n"), 1024, () => {
      throw new Error("not expected");
    });
    expect(await ok.text()).toBe("data: hi\n\ndata: there\n\n");
    let tripped = 0;
    const big = capSseEvents(new Response(`data: ${"x".repeat(2000)}\n\n`), 1024, () => tripped++);
    await expect(big.text()).rejects.toThrow();
    expect(tripped).toBe(1);
  });
});
