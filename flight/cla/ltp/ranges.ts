// Byte ranges of a block, as sorted disjoint [start, end) intervals: what the receiver holds and
// what the sender has seen reported. Reports carry at most MAX_CLAIMS claims, so a set never
// grows past a few thousand intervals in practice; linear merging is plenty.
export interface Range {
  start: number;
  end: number;
}

export class RangeSet {
  private readonly ranges: Range[] = [];

  /** Adds [start, end); returns the bytes that were new. */
  add(start: number, end: number): number {
    if (end <= start) return 0;
    let i = 0;
    while (i < this.ranges.length && this.ranges[i]!.end < start) i++;
    let covered = 0;
    let s = start;
    let e = end;
    let j = i;
    while (j < this.ranges.length && this.ranges[j]!.start <= end) {
      const r = this.ranges[j]!;
      covered += Math.max(0, Math.min(r.end, end) - Math.max(r.start, start));
      s = Math.min(s, r.start);
      e = Math.max(e, r.end);
      j++;
    }
    this.ranges.splice(i, j - i, { start: s, end: e });
    return end - start - covered;
  }

  /** Whether every byte of [start, end) is held. */
  covers(start: number, end: number): boolean {
    return this.ranges.some((r) => r.start <= start && r.end >= end);
  }

  /** The held intervals clipped to [start, end). */
  within(start: number, end: number): Range[] {
    const out: Range[] = [];
    for (const r of this.ranges) {
      const s = Math.max(r.start, start);
      const e = Math.min(r.end, end);
      if (s < e) out.push({ start: s, end: e });
    }
    return out;
  }

  /** The intervals of [start, end) not held. */
  gaps(start: number, end: number): Range[] {
    const out: Range[] = [];
    let at = start;
    for (const r of this.within(start, end)) {
      if (r.start > at) out.push({ start: at, end: r.start });
      at = r.end;
    }
    if (at < end) out.push({ start: at, end });
    return out;
  }

  get count(): number {
    return this.ranges.length;
  }
}
