// The answer to a call whose downstream message was larger than the server's maxAnswerBytes:
// the wire dropped it without holding it whole, and the call fails with this error instead.
import { ErrorCodes, type Id, type JsonRpcError } from "./jsonrpc.js";

/** What the log and the client are told; `bytes` is the size, or a lower bound when prefixed "more than". */
export function oversizeProblem(server: string, bytes: number | string, maxAnswerBytes: number): string {
  return `server '${server}' sent a message of ${bytes} bytes, over its maxAnswerBytes limit of ${maxAnswerBytes}; it was dropped`;
}

export function oversizeAnswer(id: Id, problem: string, maxAnswerBytes: number): JsonRpcError {
  return {
    jsonrpc: "2.0",
    id,
    error: { code: ErrorCodes.Downstream, message: problem, data: { maxAnswerBytes } },
  };
}
