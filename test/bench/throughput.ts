// Throughput of several contenders measured in the same run, round-robin: each round gives every
// contender the same time slice, so drift on a shared machine (another process waking up, clock
// changes) hits all of them alike. The figure per contender is the median over rounds.
// TERN_BENCH_ROUNDS and TERN_BENCH_ROUND_MS lengthen a run (defaults: 7 rounds of 150 ms).

export interface Contender {
  /** One operation; may be async (a native addon working in the thread pool). */
  run(): unknown;
  /** Bytes one operation processes, for the GB/s figure. */
  bytes: number;
}

export interface Rate {
  /** Median throughput over the rounds, 1e9 bytes per second. */
  gbps: number;
  /** Median time of one operation, microseconds. */
  opUs: number;
  operations: number;
}

const ROUNDS = Number(process.env.TERN_BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.TERN_BENCH_ROUND_MS ?? 150);

async function slice(c: Contender, ms: number): Promise<{ ops: number; us: number }> {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    const r = c.run();
    if (r instanceof Promise) await r;
    ops++;
    now = performance.now();
  }
  return { ops, us: (now - start) * 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function compare<K extends string>(contenders: Record<K, Contender>): Promise<Record<K, Rate>> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) await slice(contenders[name], ROUND_MS / 3); // warm up the JIT and caches
  const perOp: Record<string, number[]> = {};
  const counts: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const { ops, us } = await slice(contenders[name], ROUND_MS);
      (perOp[name] ??= []).push(us / ops);
      counts[name] = (counts[name] ?? 0) + ops;
    }
  }
  const out = {} as Record<K, Rate>;
  for (const name of names) {
    const opUs = median(perOp[name]!);
    out[name] = { gbps: contenders[name].bytes / opUs / 1000, opUs, operations: counts[name]! };
  }
  return out;
}

export const settings = { rounds: ROUNDS, roundMs: ROUND_MS };
