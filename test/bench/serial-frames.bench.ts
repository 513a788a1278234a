// Frame decoding of the serial link (marker search, de-randomising, RS check and correction,
// frame header) against the RS kernel alone on the same code blocks, already de-randomised and
// cut at their markers: what the framing costs beyond the code itself. Both on 64 code blocks of
// I = 4 (4 + 1,020 bytes) with bit errors at 1e-4. Target: frame decoding >= 0.8x the kernel.
// Figures in test/bench/results/serial-frames.json.
import { expect, it } from 'vitest';
import { SERIAL_CHANNELS } from '../../flight/cla/dictionary.js';
import { codeBlockBytes, dataFieldBytes, Deframer, encodeCodeBlock, rsCodeOf, type FrameGeometry } from '../../flight/cla/serial/frames.js';
import { core } from '../../flight/core/wasm.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { Prng } from '../support/prng.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const BLOCKS = 64;
const G: FrameGeometry = { interleave: 4, frameBytes: 892, spacecraftId: 1 };

it('frame decoding vs the RS kernel alone on the same code blocks', async () => {
  const rng = new Prng(0x5e71a1);
  const block = codeBlockBytes(G);
  const stream = new Uint8Array(BLOCKS * block);
  for (let i = 0; i < BLOCKS; i++) stream.set(encodeCodeBlock(G, i, i, 0, rng.bytes(dataFieldBytes(G))), i * block);
  for (let bit = 0; bit < stream.length * 8; bit++) if (rng.float() < 1e-4) stream[bit >> 3]! ^= 0x80 >> (bit & 7);
  // The kernel's input: the same blocks without markers, de-randomised.
  const bare = new Uint8Array(BLOCKS * (block - 4));
  for (let i = 0; i < BLOCKS; i++) {
    const b = stream.slice(i * block + 4, (i + 1) * block);
    core().tmRandomise(b);
    bare.set(b, i * (block - 4));
  }
  const code = rsCodeOf(G);
  const channels = new TelemetryRegistry().defineAll(SERIAL_CHANNELS);
  let frames = 0;
  const deframer = new Deframer(G, 4, channels, () => frames++);
  deframer.push(stream);
  expect(frames).toBe(BLOCKS);
  expect(core().rsDecode(bare, code).uncorrectable).toEqual([]);

  const rates = await compare({
    frameDecoding: { bytes: stream.length, run: () => deframer.push(stream) },
    rsKernel: { bytes: stream.length, run: () => core().rsDecode(bare, code) },
  });
  const ratio = rates.frameDecoding.gbps / rates.rsKernel.gbps;
  writeResult('serial-frames', {
    command: 'npm run bench -- test/bench/serial-frames.bench.ts',
    blocks: BLOCKS, interleave: G.interleave, frameBytes: G.frameBytes, ber: 1e-4, ...settings,
    mbPerSecond: { frameDecoding: rates.frameDecoding.gbps * 1000, rsKernel: rates.rsKernel.gbps * 1000 },
    ratios: { frameDecodingVsKernel: ratio },
    targets: { frameDecodingVsKernel: 0.8 },
  });
  expect(ratio).toBeGreaterThanOrEqual(0.8);
});
