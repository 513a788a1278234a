// The LTP engine's only sense of time: timers it can set and cancel. Flight code uses real
// timers; tests (and a lockstep bench) step a virtual clock so every retransmission and timeout
// happens at a known instant, whatever the machine's load.
export interface LtpTimers {
  nowMs(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realTimers: LtpTimers = {
  nowMs: () => performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    // A pending retransmission must not keep a stopping process alive.
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Timers that fire only when the test advances the clock. */
export class VirtualTimers implements LtpTimers {
  private now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  nowMs(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): () => void {
    const id = this.seq++;
    this.pending.set(id, { at: this.now + ms, fn });
    return () => this.pending.delete(id);
  }

  /** Moves time on by `ms`, firing due timers in time order (those they set included). */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }

  get armed(): number {
    return this.pending.size;
  }
}
