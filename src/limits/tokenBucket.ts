// A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`.
// Lazy refill on each take keeps it allocation-free and timer-free.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
      this.last = now;
    }
  }

  /** Seconds until `n` tokens are available (0 when available now). */
  waitSeconds(now: number, n = 1): number {
    this.refill(now);
    if (this.tokens >= n) return 0;
    if (this.refillPerSecond <= 0) return Number.POSITIVE_INFINITY;
    return (n - this.tokens) / this.refillPerSecond;
  }

  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Returns tokens taken for a call that another bucket then refused. */
  giveBack(n = 1): void {
    this.tokens = Math.min(this.capacity, this.tokens + n);
  }

  /** True when the bucket is full again and can be dropped from memory. */
  isIdle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}
