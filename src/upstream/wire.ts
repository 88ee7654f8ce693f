// A Wire carries JSON-RPC messages to and from one downstream server, whatever the transport.
import type { JsonRpcMessage } from "./jsonrpc.js";

export interface Wire {
  send(message: JsonRpcMessage): void;
  onmessage?: (message: JsonRpcMessage) => void;
  /** Called once when the wire is gone (process exit, HTTP session lost); `reason` explains why. */
  onclose?: (reason: string) => void;
  /** After initialize: some transports (Streamable HTTP) send the negotiated version as a header. */
  setProtocolVersion?(version: string): void;
  close(): Promise<void>;
  readonly pid?: number;
}
