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
  private listeners?: Array<() => void>;

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
    const listeners = this.listeners;
    this.listeners = undefined;
    this.controller?.abort(this.reason);
    if (listeners) for (const l of listeners) l();
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    if (!this.listeners) return;
    const i = this.listeners.indexOf(listener);
    if (i !== -1) this.listeners.splice(i, 1);
  }
}
