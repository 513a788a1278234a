// A token bucket: `rate` tokens per second up to `burst`. In front of signature verification it
// bounds the CPU a flood of signed-looking envelopes can take; in front of reject responses it
// bounds the downlink a flood can take. Rate and burst are read on every use, so parameter
// changes apply at once.
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly rate: () => number,
    private readonly burst: () => number,
    nowMs: number,
  ) {
    this.tokens = burst();
    this.lastMs = nowMs;
  }

  /** Takes `n` tokens if there are that many (after refilling up to `nowMs`). */
  take(nowMs: number, n = 1): boolean {
    if (!this.has(nowMs, n)) return false;
    this.tokens -= n;
    return true;
  }

  /** Whether `n` tokens are there (after refilling up to `nowMs`), taking none. */
  has(nowMs: number, n = 1): boolean {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.burst(), this.tokens + (elapsed * this.rate()) / 1000);
    return this.tokens >= n;
  }
}
