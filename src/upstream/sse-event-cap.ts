// A cap on one event of an SSE byte stream, for the legacy HTTP+SSE reader (the SDK's, which
// buffers an event whole): the bytes pass through unchanged until one event (its lines up to the
// blank line that ends it, line ends not counted) grows past `maxBytes`; then the stream fails
// and `onoversize` is called once, so no event larger than the cap is ever held.

/** Counts event bytes across chunks; `push` returns false once an event outgrew the cap. */
export function sseEventCounter(maxBytes: number): (chunk: Uint8Array) => boolean {
  let eventBytes = 0;
  let lineBytes = 0;
  let afterCr = false;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      // A line ends at CR, LF or CRLF (SSE); an empty line ends the event.
      if (b === 13 || (b === 10 && !afterCr)) {
        if (lineBytes === 0) eventBytes = 0;
        lineBytes = 0;
      } else if (b !== 10) {
        lineBytes++;
        if (++eventBytes > maxBytes) return false;
      }
      afterCr = b === 13;
    }
    return true;
  };
}

/** `res` with its body cut off by the cap; `onoversize` runs once when it trips. */
export function capSseEvents(res: Response, maxBytes: number, onoversize: () => void): Response {
  if (!res.body) return res;
  const push = sseEventCounter(maxBytes);
  let tripped = false;
  const capped = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (tripped) return;
        if (push(chunk)) controller.enqueue(chunk);
        else {
          tripped = true;
          controller.error(new Error(`an SSE event over ${maxBytes} bytes`));
          onoversize();
        }
      },
    }),
  );
  return new Response(capped, { status: res.status, statusText: res.statusText, headers: res.headers });
}
