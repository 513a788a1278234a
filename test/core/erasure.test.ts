import { describe, expect, it } from 'vitest';
import { FecInputError } from '../../flight/core/errors.js';
import { Core, type Bytes, type CoreBuffer } from '../../flight/core/wasm.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { Prng } from '../support/prng.js';
import { mul, pow } from './rs-reference.js';

/** Parity straight from the definition: parity_i = sum_j data_j (k xor j) / ((k + i) xor j), bit-by-bit
 *  field products (the same field, 0x187, as the reference RS). */
function referenceParity(data: readonly Uint8Array[], m: number): Uint8Array[] {
  const k = data.length;
  return Array.from({ length: m }, (_, i) => {
    const out = new Uint8Array(data[0]!.length);
    data.forEach((shard, j) => {
      const c = mul(k ^ j, pow((k + i) ^ j, 254));
      shard.forEach((x, p) => (out[p]! ^= mul(c, x)));
    });
    return out;
  });
}

function randomShards(rng: Prng, k: number, m: number, size: number): Uint8Array[] {
  return [...Array.from({ length: k }, () => rng.bytes(size)), ...Array.from({ length: m }, () => new Uint8Array(size))];
}

/** Every subset of [0, n) with at most `max` elements. */
function subsets(n: number, max: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, chosen: number[]): void => {
    if (chosen.length > 0) out.push(chosen);
    if (chosen.length === max) return;
    for (let i = start; i < n; i++) walk(i + 1, [...chosen, i]);
  };
  walk(0, []);
  return out;
}

const hexOf = (b: Bytes): string => Buffer.from(b instanceof Uint8Array ? b : b.bytes()).toString('hex');

describe.each(['simd', 'scalar'] as const)('erasure coding in the WASM core (%s build)', (variant) => {
  const core = new Core(variant);

  it('computes the parity of the Cauchy definition for shard sizes that are not multiples of 16', () => {
    const rng = new Prng(0xe7a5e001);
    for (const [k, m, size] of [[1, 1, 1], [2, 1, 15], [3, 2, 17], [10, 4, 1000 + 3], [5, 9, 64], [17, 3, 33]] as const) {
      const shards = randomShards(rng, k, m, size);
      core.erasureCode(k, m).encode(shards);
      const expected = referenceParity(shards.slice(0, k), m);
      expected.forEach((p, i) => expect(hexOf(shards[k + i]!), `k=${k} m=${m} size=${size} parity ${i}`).toBe(hexOf(p)));
    }
  });

  it('rebuilds every pattern of up to m lost shards, data or parity, for 4 + 3 and 10 + 4', () => {
    const rng = new Prng(0xe7a5e002);
    for (const [k, m] of [[4, 3], [10, 4]] as const) {
      const code = core.erasureCode(k, m);
      const shards = randomShards(rng, k, m, 40);
      code.encode(shards);
      const patterns = subsets(k + m, m);
      expect(patterns.length).toBe(k === 4 ? 63 : 1470);
      for (const lost of patterns) {
        const damaged = shards.map((s) => s.slice());
        for (const i of lost) damaged[i]!.fill(0xee);
        code.rebuild(damaged, lost);
        damaged.forEach((s, i) => expect(hexOf(s), `k=${k} m=${m} lost ${lost.join(',')} shard ${i}`).toBe(hexOf(shards[i]!)));
      }
    }
  });

  it('handles the largest code, k + m = 255, and 200 + 55 with random losses', () => {
    const rng = new Prng(0xe7a5e003);
    for (const [k, m] of [[223, 32], [200, 55]] as const) {
      const code = core.erasureCode(k, m);
      const shards = randomShards(rng, k, m, 48);
      code.encode(shards);
      const expected = referenceParity(shards.slice(0, k), m);
      expect(hexOf(shards[k + m - 1]!)).toBe(hexOf(expected[m - 1]!));
      for (let trial = 0; trial < 3; trial++) {
        const lost = rng.distinct(m, k + m);
        const damaged = shards.map((s) => s.slice());
        for (const i of lost) damaged[i]!.fill(0);
        code.rebuild(damaged, lost);
        damaged.forEach((s, i) => expect(hexOf(s), `k=${k} m=${m} shard ${i}`).toBe(hexOf(shards[i]!)));
      }
    }
  });

  it('works in slices on shards larger than its scratch and gives the same bytes in place', () => {
    const rng = new Prng(0xe7a5e004);
    const k = 10;
    const m = 4;
    const size = 200_000 + 7;
    const code = core.erasureCode(k, m);
    const shards = randomShards(rng, k, m, size);
    code.encode(shards);
    // The same shards in core memory, processed in place.
    const resident = shards.map((s) => {
      const b = core.reserve(size);
      b.bytes().set(s);
      return b;
    });
    resident.slice(k).forEach((b) => b.bytes().fill(0));
    code.encode(resident);
    resident.forEach((b, i) => expect(hexOf(b), `shard ${i}`).toBe(hexOf(shards[i]!)));
    const lost = [0, 3, 9, 12];
    for (const i of lost) resident[i]!.bytes().fill(0);
    code.rebuild(resident, lost);
    resident.forEach((b, i) => expect(hexOf(b), `rebuilt shard ${i}`).toBe(hexOf(shards[i]!)));
    // A mix of both kinds, after the core's memory has grown (views are renewed).
    const grown = core.reserve(8 * 1024 * 1024);
    expect(grown.bytes().length).toBe(8 * 1024 * 1024);
    const mixed: Bytes[] = shards.map((s, i) => (i % 2 === 0 ? resident[i]! : s.slice()));
    for (const i of lost) (mixed[i] instanceof Uint8Array ? (mixed[i] as Uint8Array) : (mixed[i] as CoreBuffer).bytes()).fill(0);
    code.rebuild(mixed, lost);
    mixed.forEach((b, i) => expect(hexOf(b), `mixed shard ${i}`).toBe(hexOf(shards[i]!)));
  });

  it('caches one rebuild matrix per erasure pattern, at most 64', () => {
    const rng = new Prng(0xe7a5e005);
    const code = core.erasureCode(6, 3);
    const shards = randomShards(rng, 6, 3, 16);
    code.encode(shards);
    expect(code.cachedPatterns).toBe(0);
    code.rebuild(shards, [1, 4]);
    code.rebuild(shards, [4, 1]);
    expect(code.cachedPatterns).toBe(1);
    code.rebuild(shards, [7]);
    expect(code.cachedPatterns).toBe(2);
    for (const lost of subsets(9, 3)) code.rebuild(shards, lost);
    expect(code.cachedPatterns).toBe(64);
  });

  it('refuses malformed arguments with FecInputError', () => {
    const code = core.erasureCode(3, 2);
    const five = Array.from({ length: 5 }, () => new Uint8Array(8));
    const cases: Array<[() => unknown, string]> = [
      [() => core.erasureCode(0, 2), 'dataShards'],
      [() => core.erasureCode(250, 6), 'parityShards'],
      [() => core.erasureCode(4, 0), 'parityShards'],
      [() => code.encode(five.slice(0, 4)), 'shards'],
      [() => code.encode([...five.slice(0, 4), new Uint8Array(9)]), 'shards[4]'],
      [() => code.encode(Array.from({ length: 5 }, () => new Uint8Array(0))), 'shards'],
      [() => code.rebuild(five, [0, 1, 2]), 'lost'],
      [() => code.rebuild(five, [1, 1]), 'lost'],
      [() => code.rebuild(five, [5]), 'lost'],
    ];
    for (const [f, field] of cases) {
      expect(f).toThrow(FecInputError);
      try {
        f();
      } catch (error) {
        expect((error as FecInputError).field).toBe(field);
      }
    }
  });

  it('counts rebuilt shards in telemetry', () => {
    const counted = new Core(variant);
    const tlm = new TelemetryRegistry();
    counted.bindTelemetry(tlm);
    const code = counted.erasureCode(2, 2);
    const shards = randomShards(new Prng(6), 2, 2, 32);
    code.encode(shards);
    code.rebuild(shards, [0, 3]);
    expect(tlm.get('core.erasureRebuilds')!.value).toBe(2);
  });
});

describe('the SIMD and scalar erasure kernels', () => {
  it('give identical parity and rebuilt bytes', () => {
    const simd = new Core('simd');
    const scalar = new Core('scalar');
    const rng = new Prng(0xe7a5e006);
    for (const [k, m, size] of [[10, 4, 65536], [7, 5, 4097], [30, 13, 511]] as const) {
      const a = randomShards(rng, k, m, size);
      const b = a.map((s) => s.slice());
      simd.erasureCode(k, m).encode(a);
      scalar.erasureCode(k, m).encode(b);
      a.forEach((s, i) => expect(hexOf(s), `k=${k} m=${m} shard ${i}`).toBe(hexOf(b[i]!)));
      const lost = rng.distinct(m, k + m);
      for (const i of lost) {
        a[i]!.fill(1);
        b[i]!.fill(2);
      }
      simd.erasureCode(k, m).rebuild(a, lost);
      scalar.erasureCode(k, m).rebuild(b, lost);
      a.forEach((s, i) => expect(hexOf(s), `rebuilt k=${k} m=${m} shard ${i}`).toBe(hexOf(b[i]!)));
    }
  });
});

describe('core memory reservations', () => {
  it('refuses a reservation beyond the core memory limit with FecInputError and stays usable', () => {
    const core = new Core();
    expect(() => core.reserve(80 * 1024 * 1024)).toThrow(/length: expected at most the free core memory/);
    const b = core.reserve(1024);
    b.bytes().fill(7);
    expect(b.bytes().every((x) => x === 7)).toBe(true);
    expect(core.crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('refuses a CoreBuffer reserved from another core', () => {
    const a = new Core();
    const b = new Core();
    const data = b.reserve(64);
    expect(() => a.secdedCheck(data, new Uint8Array(8))).toThrow(/buffer: expected a CoreBuffer reserved from the same Core/);
  });
});
