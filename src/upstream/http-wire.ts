// Remote downstream servers over Streamable HTTP or legacy HTTP+SSE, using the SDK client transports.
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { RemoteServerConfig } from "../config/schema.js";
import type { JsonRpcMessage } from "./jsonrpc.js";
import type { Wire } from "./wire.js";

export async function connectHttpWire(name: string, cfg: RemoteServerConfig): Promise<Wire> {
  const url = new URL(cfg.url);
  const requestInit: RequestInit = { headers: cfg.headers };
  const transport =
    cfg.transport === "sse"
      ? new SSEClientTransport(url, {
          requestInit,
          eventSourceInit: {
            fetch: (u, init) =>
              fetch(u, {
                ...init,
                headers: { ...cfg.headers, ...(init?.headers as Record<string, string>) },
              }),
          },
        })
      : new StreamableHTTPClientTransport(url, { requestInit });
  let closed = false;
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
    setProtocolVersion(v: string) {
      if (transport instanceof StreamableHTTPClientTransport) transport.setProtocolVersion(v);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (transport instanceof StreamableHTTPClientTransport)
        await transport.terminateSession().catch(() => {});
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
