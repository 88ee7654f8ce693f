// Cancellation for one forwarded call without an AbortController per call. Node's AbortSignal is
// an EventTarget: creating one and adding/removing a listener cost several µs and a lot of
// garbage per call, on a path where cancellation almost never happens. A real AbortSignal is
// made only when someone asks for it (a governance stage reading ctx.signal).

/** The part of AbortSignal the forwarding path uses; AbortSignal itself satisfies it. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class LazyAbort implements AbortLike {
  aborted = false;
  reason: unknown;
  private controller?: AbortController;
  /** The first listener in its own slot: a forwarded call registers just one (no array per call). */
  private first?: () => void;
  /** Listeners after the first, in the order they were added. */
  private rest?: Array<() => void>;

  /** A real AbortSignal tied to this one (created on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new Error("This operation was aborted");
    const { first, rest } = this;
    this.first = undefined;
    this.rest = undefined;
    this.controller?.abort(this.reason);
    first?.();
    if (rest) for (const l of rest) l();
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    if (!this.first) this.first = listener;
    else if (this.rest) this.rest.push(listener);
    else this.rest = [listener];
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.first === listener) {
      // The next one moves up, so listeners still run in the order they were added.
      this.first = this.rest?.shift();
      return;
    }
    if (!this.rest) return;
    const i = this.rest.indexOf(listener);
    if (i !== -1) this.rest.splice(i, 1);
  }
}
