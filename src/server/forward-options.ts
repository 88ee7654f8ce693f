// The RequestOptions of one forwarded call. A class, so that undoing the call's
// in-flight-per-server entry when it settles is a method on its prototype: one object per call
// instead of an options literal plus a closure (and its context) for onSettled.
import type { AbortLike } from "../upstream/cancel.js";
import type { RequestOptions } from "../upstream/connection.js";
import type { Id } from "../upstream/jsonrpc.js";
import type { ClientSession } from "./session.js";

export class ForwardOptions implements RequestOptions {
  constructor(
    readonly timeoutMs: number,
    readonly signal: AbortLike,
    /** The client session the call is made for (RequestOptions.owner is its id). */
    private readonly session: ClientSession,
    readonly raw: boolean,
    readonly onProgress: ((params: Record<string, unknown>) => void) | undefined,
    /** The server the call went to, and the call's id in the client session. */
    private readonly server: string,
    private readonly requestId: Id,
  ) {
    session.inflightByServer.set(server, requestId);
  }

  get owner(): string {
    return this.session.id;
  }

  /**
   * Forgets the session's in-flight entry for the server, unless a later call replaced it. Called
   * by the connection when the request settles; idempotent (other downstreams' callers run it
   * from a reaction to the answer instead).
   */
  onSettled(): void {
    const inflight = this.session.inflightByServer;
    if (inflight.get(this.server) === this.requestId) inflight.delete(this.server);
  }
}
