// SEC-DED (72,64) check of a clean 1 MiB buffer in the Tern core (in core memory, and copied in
// from caller memory; SIMD and scalar builds), next to memcpy of the same buffer, plus computing
// the check bytes. Figures are GB/s of data, written to test/bench/results/secded.json.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const BYTES = 1024 * 1024;

it('SEC-DED check of a clean 1 MiB buffer next to memcpy', async () => {
  const data = randomBytes(BYTES);
  const simd = new Core('simd');
  const scalar = new Core('scalar');
  const check = new Uint8Array(BYTES / 8);
  simd.secdedEncode(data, check);
  const residentData = simd.reserve(BYTES);
  const residentCheck = simd.reserve(BYTES / 8);
  residentData.bytes().set(data);
  residentCheck.bytes().set(check);

  // The check must really look: one flipped bit is found on every path before timing.
  const flipped = Uint8Array.from(data);
  flipped[777_777]! ^= 0x10;
  expect(simd.secdedCheck(flipped, check).errors).toEqual([{ word: 97_222, kind: 'data', bit: 12 }]);
  expect(scalar.secdedCheck(flipped, check).errors).toEqual([{ word: 97_222, kind: 'data', bit: 12 }]);
  expect(simd.secdedCheck(residentData, residentCheck).errors).toEqual([]);

  const target = new Uint8Array(BYTES);
  const scratchCheck = new Uint8Array(BYTES / 8);
  const rates = await compare({
    memcpy: { bytes: BYTES, run: () => target.set(data) },
    checkInPlace: { bytes: BYTES, run: () => simd.secdedCheck(residentData, residentCheck) },
    checkCopied: { bytes: BYTES, run: () => simd.secdedCheck(data, check) },
    checkScalarCopied: { bytes: BYTES, run: () => scalar.secdedCheck(data, check) },
    encodeInPlace: { bytes: BYTES, run: () => simd.secdedEncode(residentData, residentCheck) },
    encodeCopied: { bytes: BYTES, run: () => simd.secdedEncode(data, scratchCheck) },
  });
  const gbps = Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.gbps]));
  writeResult('secded', {
    command: 'npm run bench -- test/bench/secded.bench.ts',
    bufferBytes: BYTES, ...settings,
    gbPerSecond: gbps,
    ratios: {
      checkInPlaceVsMemcpy: gbps.checkInPlace! / gbps.memcpy!,
      checkCopiedVsMemcpy: gbps.checkCopied! / gbps.memcpy!,
      simdVsScalarCheck: gbps.checkCopied! / gbps.checkScalarCopied!,
    },
  });
  expect(Buffer.from(scratchCheck).equals(check)).toBe(true);
});
