// The tests' one seeded generator (mulberry32), so randomized tests are reproducible: a failing
// seed is in the test name or message, and the same seed replays the same inputs. Not for keys
// or nonces (those come from node:crypto).
export class Prng {
  constructor(private state: number) {}

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return this.u32() % n;
  }

  /** Number in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.u32() & 0xff);
  }

  /** `count` distinct integers from [0, n), in random order. */
  distinct(count: number, n: number): number[] {
    const picked = new Set<number>();
    while (picked.size < count) picked.add(this.below(n));
    return [...picked];
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** The generator as a function: each call a number in [0, 1). */
export function prng(seed: number): () => number {
  const generator = new Prng(seed);
  return () => generator.float();
}

/** The generator as a function: each call an integer in [0, n). */
export function prngBelow(seed: number): (n: number) => number {
  const generator = new Prng(seed);
  return (n) => generator.below(n);
}
