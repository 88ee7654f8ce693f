// Remote downstream servers: Streamable HTTP through the lean client in streamable-wire.ts,
// legacy HTTP+SSE through the SDK client transport (old servers, not a hot path).
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { RemoteServerConfig } from "../config/schema.js";
import type { JsonRpcMessage } from "./jsonrpc.js";
import { oversizeProblem } from "./oversize.js";
import { capSseEvents } from "./sse-event-cap.js";
import { connectStreamableWire } from "./streamable-wire.js";
import type { Wire } from "./wire.js";

export async function connectHttpWire(
  name: string,
  cfg: RemoteServerConfig,
  warn?: (msg: string) => void,
): Promise<Wire> {
  if (cfg.transport !== "sse") return connectStreamableWire(name, cfg, warn);
  const url = new URL(cfg.url);
  const transport = new SSEClientTransport(url, {
    requestInit: { headers: cfg.headers },
    eventSourceInit: {
      fetch: async (u, init) =>
        capSseEvents(
          await fetch(u, {
            ...init,
            headers: { ...cfg.headers, ...(init?.headers as Record<string, string>) },
          }),
          cfg.maxAnswerBytes,
          () => oversize(),
        ),
    },
  });
  let closed = false;
  // An event over maxAnswerBytes: the legacy transport has one stream for the whole session and
  // the dropped event's request id is unknown, so the connection is closed (its pending calls fail
  // with the reason) and warden reconnects as after any lost connection.
  const oversize = () => {
    const problem = `${oversizeProblem(name, `more than ${cfg.maxAnswerBytes}`, cfg.maxAnswerBytes)}, and the legacy SSE connection closed`;
    warn?.(problem);
    if (closed) return;
    closed = true;
    wire.onclose?.(problem);
    void transport.close();
  };
  const wire: Wire = {
    send(message: JsonRpcMessage) {
      transport.send(message as JSONRPCMessage).catch((err: Error) => {
        // A failed POST is a lost message: surface it as an error answer for requests.
        if ("id" in message && "method" in message) {
          wire.onmessage?.({
            jsonrpc: "2.0",
            id: message.id,
            error: { code: -32000, message: `server '${name}' unreachable: ${err.message}` },
          });
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await transport.close();
    },
  };
  transport.onmessage = (m) => wire.onmessage?.(m as JsonRpcMessage);
  transport.onclose = () => {
    if (!closed) {
      closed = true;
      wire.onclose?.(`server '${name}' connection closed`);
    }
  };
  transport.onerror = () => {}; // Per-request failures are answered above; stream errors retry inside the SDK.
  await transport.start();
  return wire;
}
