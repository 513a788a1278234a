// Erasure coding 10 + 4 with 64 KiB shards: encode the 4 parity shards, and rebuild 4 lost data
// shards from the other 10. The Tern core (SIMD build, and the scalar build for reference) against
// the native addon @ronomon/reed-solomon and the Rust-compiled-to-WASM
// @subspace/reed-solomon-erasure.wasm, with memcpy of the same 640 KiB as the ceiling. Figures are
// GB/s of data shard bytes (10 x 64 KiB per operation) and ratios, written to
// test/bench/results/erasure.json.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { Core, type CoreBuffer } from '../../flight/core/wasm.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const K = 10;
const M = 4;
const SHARD = 64 * 1024;
const LOST = [0, 1, 2, 3];
const DATA_BYTES = K * SHARD;

interface Ronomon {
  create(k: number, m: number): unknown;
  encode(
    context: unknown, sources: number, targets: number,
    buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number,
    done: (error?: Error) => void,
  ): void;
}
interface Subspace {
  encode(shards: Uint8Array, dataShards: number, parityShards: number): number;
  reconstruct(shards: Uint8Array, dataShards: number, parityShards: number, available: boolean[]): number;
}

const require = createRequire(import.meta.url);

it('erasure 10+4, 64 KiB shards: encode and rebuild of 4 data shards against peers', async () => {
  const data = randomBytes(DATA_BYTES);
  const shard = (i: number): Uint8Array => data.subarray(i * SHARD, (i + 1) * SHARD);

  // Tern, caller memory: shards are copied through the core's scratch.
  const simd = new Core('simd');
  const scalar = new Core('scalar');
  const copied = [...Array.from({ length: K }, (_, i) => shard(i).slice()), ...Array.from({ length: M }, () => new Uint8Array(SHARD))];
  const code = simd.erasureCode(K, M);
  code.encode(copied);
  const reference = copied.map((s) => s.slice());
  const scalarCode = scalar.erasureCode(K, M);
  const scalarShards = copied.map((s) => s.slice());
  // Tern, core memory: shards processed in place.
  const resident: CoreBuffer[] = copied.map((s) => {
    const b = simd.reserve(SHARD);
    b.bytes().set(s);
    return b;
  });

  // @ronomon/reed-solomon: data in one buffer, parity in another; bit flags of sources/targets.
  const ronomon = require('@ronomon/reed-solomon') as Ronomon;
  const context = ronomon.create(K, M);
  const rBuffer = Buffer.from(data);
  const rParity = Buffer.alloc(M * SHARD);
  const flags = (indexes: number[]): number => indexes.reduce((f, i) => f | (1 << i), 0);
  const all = Array.from({ length: K + M }, (_, i) => i);
  const ronomonRun = (sources: number, targets: number): Promise<void> =>
    new Promise((resolve, reject) =>
      ronomon.encode(context, sources, targets, rBuffer, 0, DATA_BYTES, rParity, 0, M * SHARD, (e) => (e ? reject(e) : resolve())));
  const ronomonEncode = (): Promise<void> => ronomonRun(flags(all.slice(0, K)), flags(all.slice(K)));
  const ronomonRebuild = (): Promise<void> => ronomonRun(flags(all.filter((i) => !LOST.includes(i))), flags(LOST));

  // @subspace/reed-solomon-erasure.wasm: all shards in one contiguous array.
  const { ReedSolomonErasure } = require('@subspace/reed-solomon-erasure.wasm') as {
    ReedSolomonErasure: { fromBytes(bytes: Uint8Array): Subspace };
  };
  const subspace = ReedSolomonErasure.fromBytes(readFileSync(require.resolve('@subspace/reed-solomon-erasure.wasm/dist/reed_solomon_erasure_bg.wasm')));
  const sShards = new Uint8Array((K + M) * SHARD);
  sShards.set(data);
  const available = all.map((i) => !LOST.includes(i));

  // Every contender must do the real work: check each once before timing.
  await ronomonEncode();
  expect(subspace.encode(sShards, K, M)).toBe(0);
  for (const i of LOST) rBuffer.fill(0, i * SHARD, (i + 1) * SHARD);
  await ronomonRebuild();
  expect(rBuffer.equals(data)).toBe(true);
  for (const i of LOST) sShards.fill(0, i * SHARD, (i + 1) * SHARD);
  expect(subspace.reconstruct(sShards, K, M, available)).toBe(0);
  expect(Buffer.from(sShards.subarray(0, DATA_BYTES)).equals(data)).toBe(true);
  for (const i of LOST) copied[i]!.fill(0);
  code.rebuild(copied, LOST);
  copied.forEach((s, i) => expect(Buffer.from(s).equals(reference[i]!)).toBe(true));
  for (const i of LOST) resident[i]!.bytes().fill(0);
  code.rebuild(resident, LOST);
  resident.forEach((b, i) => expect(Buffer.from(b.bytes()).equals(reference[i]!)).toBe(true));

  const memcpyTarget = new Uint8Array(DATA_BYTES);
  const rates = await compare({
    memcpy: { bytes: DATA_BYTES, run: () => memcpyTarget.set(data) },
    ternEncodeInPlace: { bytes: DATA_BYTES, run: () => code.encode(resident) },
    ternEncodeCopied: { bytes: DATA_BYTES, run: () => code.encode(copied) },
    ternEncodeScalar: { bytes: DATA_BYTES, run: () => scalarCode.encode(scalarShards) },
    ronomonEncode: { bytes: DATA_BYTES, run: ronomonEncode },
    subspaceEncode: { bytes: DATA_BYTES, run: () => subspace.encode(sShards, K, M) },
    ternRebuildInPlace: { bytes: DATA_BYTES, run: () => code.rebuild(resident, LOST) },
    ternRebuildCopied: { bytes: DATA_BYTES, run: () => code.rebuild(copied, LOST) },
    ternRebuildScalar: { bytes: DATA_BYTES, run: () => scalarCode.rebuild(scalarShards, LOST) },
    ronomonRebuild: { bytes: DATA_BYTES, run: ronomonRebuild },
    subspaceRebuild: { bytes: DATA_BYTES, run: () => subspace.reconstruct(sShards, K, M, available) },
  });
  const ratio = (a: keyof typeof rates, b: keyof typeof rates): number => rates[a].gbps / rates[b].gbps;
  writeResult('erasure', {
    command: 'npm run bench -- test/bench/erasure.bench.ts',
    code: `${K}+${M}`, shardBytes: SHARD, lostDataShards: LOST, ...settings,
    gbps: Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.gbps])),
    opUs: Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.opUs])),
    ratios: {
      encodeInPlaceVsRonomon: ratio('ternEncodeInPlace', 'ronomonEncode'),
      encodeCopiedVsRonomon: ratio('ternEncodeCopied', 'ronomonEncode'),
      encodeCopiedVsSubspace: ratio('ternEncodeCopied', 'subspaceEncode'),
      rebuildInPlaceVsRonomon: ratio('ternRebuildInPlace', 'ronomonRebuild'),
      rebuildCopiedVsRonomon: ratio('ternRebuildCopied', 'ronomonRebuild'),
      rebuildCopiedVsSubspace: ratio('ternRebuildCopied', 'subspaceRebuild'),
      encodeInPlaceVsMemcpy: ratio('ternEncodeInPlace', 'memcpy'),
      simdVsScalarEncode: ratio('ternEncodeCopied', 'ternEncodeScalar'),
    },
    targets: { vsRonomon: 0.9, vsSubspace: 8 },
  });
  // After the timing the shards must still be right (nothing was skipped while timed).
  resident.forEach((b, i) => expect(Buffer.from(b.bytes()).equals(reference[i]!)).toBe(true));
});
