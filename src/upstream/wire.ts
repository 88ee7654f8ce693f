// A Wire carries JSON-RPC messages to and from one downstream server, whatever the transport.
import type { JsonRpcMessage } from "./jsonrpc.js";

export interface Wire {
  send(message: JsonRpcMessage): void;
  /**
   * Sends one already-serialized request, newline included (see RawRequest); `id` is the id
   * written into it (the Streamable HTTP wire follows its answer to resume a broken stream).
   */
  sendRaw?(line: string | Buffer[], id: number): void;
  onmessage?: (message: JsonRpcMessage) => void;
  /**
   * Offered each success response line before it is parsed (stdio wires only); returns true when
   * it took the bytes as they are (see RawResult), false to let the line be parsed normally. A
   * large line may come as the chunks it arrived in (idStart is then in the last one).
   */
  onrawresult?: (id: number, line: Buffer | Buffer[], idStart: number) => boolean;
  /** True when the wire calls onrawresult. */
  readonly supportsRaw?: boolean;
  /** Called once when the wire is gone (process exit, HTTP session lost); `reason` explains why. */
  onclose?: (reason: string) => void;
  /** After initialize: some transports (Streamable HTTP) send the negotiated version as a header. */
  setProtocolVersion?(version: string): void;
  close(): Promise<void>;
  readonly pid?: number;
}
