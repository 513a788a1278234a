// The serial link's framing without a port: segments -> packets -> frames -> code blocks, and
// back through the Deframer and Depacketiser, over a byte stream the test damages on purpose.
import { describe, expect, it } from 'vitest';
import { SERIAL_CHANNELS } from '../../flight/cla/dictionary.js';
import { codeBlockBytes, dataFieldBytes, Deframer, encodeCodeBlock, type FrameGeometry } from '../../flight/cla/serial/frames.js';
import { Depacketiser, encodePacket, Packetiser, type PendingPacket } from '../../flight/cla/serial/packets.js';
import { SerialPacketError } from '../../flight/cla/serial/errors.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { Prng } from '../support/prng.js';

const G: FrameGeometry = { interleave: 4, frameBytes: 892, spacecraftId: 42 };

/** The line bytes of `segments` in frames, then `idle` idle frames. */
function encodeStream(segments: Uint8Array[], g = G, idle = 1): { bytes: Uint8Array; frames: number } {
  const queue: PendingPacket[] = segments.map((s) => ({ bytes: encodePacket(s), sent: () => undefined }));
  const packetiser = new Packetiser(() => queue.shift());
  const blocks: Uint8Array[] = [];
  for (let n = 0; queue.length > 0 || packetiser.busy || idle-- > 0; n++) {
    const { data, firstHeader } = packetiser.fill(dataFieldBytes(g));
    blocks.push(encodeCodeBlock(g, n, n, firstHeader, data));
  }
  return { bytes: Uint8Array.from(Buffer.concat(blocks)), frames: blocks.length };
}

function receiver(g = G): { push(bytes: Uint8Array, chunk?: number): void; segments: Uint8Array[]; errors: SerialPacketError[]; value(name: keyof typeof SERIAL_CHANNELS): number } {
  const tlm = new TelemetryRegistry();
  const channels = tlm.defineAll(SERIAL_CHANNELS);
  const segments: Uint8Array[] = [];
  const errors: SerialPacketError[] = [];
  const depacketiser = new Depacketiser(channels, (s) => segments.push(Uint8Array.from(s)), (e) => errors.push(e));
  const deframer = new Deframer(g, 4, channels, (f) => depacketiser.onFrame(f));
  const rng = new Prng(99);
  return {
    push: (bytes, chunk = 0) => {
      for (let at = 0; at < bytes.length;) {
        const n = chunk || 1 + rng.below(700);
        deframer.push(bytes.subarray(at, at + n));
        at += n;
      }
    },
    segments, errors, value: (name) => channels[name].value,
  };
}

const segmentsOf = (rng: Prng, n: number): Uint8Array[] => Array.from({ length: n }, () => rng.bytes(20 + rng.below(1100)));

describe('serial framing', () => {
  it('carries segments through code blocks in chunks of any size, idle fill between', () => {
    const rng = new Prng(1);
    const segments = segmentsOf(rng, 40);
    const { bytes, frames } = encodeStream(segments);
    expect(bytes.length).toBe(frames * codeBlockBytes(G));
    expect(codeBlockBytes(G)).toBe(4 + 1020);
    const rx = receiver();
    rx.push(Uint8Array.of(0x55, 0x1a, 0xcf)); // noise before the first marker
    rx.push(bytes);
    expect(rx.segments).toEqual(segments);
    expect(rx.value('framesIn')).toBe(frames);
    expect(rx.value('correctedSymbols')).toBe(0);
    expect(rx.value('bytesSkipped')).toBe(3);
  });

  it('corrects random bit errors at BER 1e-4 and 50-byte bursts, counting the symbols', () => {
    const rng = new Prng(2);
    const segments = segmentsOf(rng, 60);
    const { bytes } = encodeStream(segments);
    for (let bit = 0; bit < bytes.length * 8; bit++) if (rng.float() < 1e-4) bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
    // One 50-byte burst in each of three frames, away from the markers: I = 4 spreads each over 4 codewords.
    for (const frame of [3, 10, 20]) for (let i = 0; i < 50; i++) bytes[frame * 1024 + 300 + i]! ^= 1 + rng.below(255);
    const rx = receiver();
    rx.push(bytes);
    expect(rx.segments).toEqual(segments);
    expect(rx.value('correctedSymbols')).toBeGreaterThan(150);
    expect(rx.value('uncorrectableFrames')).toBe(0);
  });

  it('finds the stream again after lost and inserted bytes, losing only the frames hit', () => {
    const rng = new Prng(3);
    const segments = Array.from({ length: 80 }, () => rng.bytes(200)); // several per frame, 19 frames
    const { bytes } = encodeStream(segments);
    const damaged = Buffer.concat([
      bytes.subarray(0, 5 * 1024 + 100), // frame 5 loses 7 bytes...
      bytes.subarray(5 * 1024 + 107, 9 * 1024 + 10),
      Uint8Array.from([1, 2, 3]), // ...frame 9 gains 3
      bytes.subarray(9 * 1024 + 10),
    ]);
    const rx = receiver();
    rx.push(damaged);
    expect(rx.value('syncLosses')).toBe(2);
    expect(rx.value('frameGaps')).toBe(2);
    // Segments wholly inside intact frames all arrive, in order, none corrupted.
    const sent = new Set(segments.map((s) => Buffer.from(s).toString('hex')));
    expect(rx.segments.every((s) => sent.has(Buffer.from(s).toString('hex')))).toBe(true);
    // Frames 5 and 6 (found again at 7), 9 and 10: at most 4 frames' segments and the ones straddling them.
    expect(rx.value('framesIn')).toBeGreaterThanOrEqual(19 - 4);
    expect(rx.segments.length).toBeGreaterThanOrEqual(segments.length - 4 * 5 - 2);
    expect(rx.segments.length).toBeLessThan(segments.length);
  });

  it('takes a block whose marker is damaged: searching within maxSyncErrors bits, locked beyond them', () => {
    const rng = new Prng(4);
    const segments = segmentsOf(rng, 20);
    const { bytes } = encodeStream(segments);
    bytes[0]! ^= 0x0f; // 4 bits in the first marker: found by the search
    bytes[1024 * 2]! ^= 0xff; // 8 bits in the third: too many to search for, taken while locked
    for (let i = 0; i < 4; i++) bytes[1024 * 5 + i]! ^= 0xff; // the sixth marker gone: RS takes the block where it is due
    const rx = receiver();
    rx.push(bytes);
    expect(rx.segments).toEqual(segments);
    expect(rx.value('syncLosses')).toBe(0);
  });

  it('refuses frames of another spacecraft and a broken packet stream with typed errors', () => {
    const rng = new Prng(5);
    const other = encodeStream(segmentsOf(rng, 3), { ...G, spacecraftId: 7 }).bytes;
    const rx = receiver();
    rx.push(other);
    expect(rx.segments).toHaveLength(0);
    expect(rx.value('foreignFrames')).toBeGreaterThan(0);
    // A frame whose data field starts with a packet header that is not LTP.
    const field = new Uint8Array(dataFieldBytes(G)).fill(0xe0);
    field.set([0x08, 0x00, 0x00, 0x10]);
    rx.push(Buffer.concat([encodeCodeBlock(G, 0, 0, 0, field), encodeStream([rng.bytes(50)]).bytes]));
    expect(rx.errors[0]).toBeInstanceOf(SerialPacketError);
    expect(rx.errors[0]!.code).toBe('SERIAL_BAD_PACKET');
    expect(rx.value('packetErrors')).toBe(1);
    expect(rx.segments).toHaveLength(1); // the stream picked up again at the next frame
  });

  it('takes 100,000 mutated code blocks with typed errors only', () => {
    const rng = new Prng(6);
    const small: FrameGeometry = { interleave: 1, frameBytes: 100, spacecraftId: 0 };
    const { bytes } = encodeStream(segmentsOf(rng, 30).map((s) => s.subarray(0, 60)), small, 0);
    const block = codeBlockBytes(small);
    const rx = receiver(small);
    for (let i = 0; i < 100_000; i++) {
      const start = rng.below(bytes.length / block) * block;
      const mutated = Uint8Array.from(bytes.subarray(start, start + block));
      const kind = rng.below(4);
      if (kind === 0) for (let k = 0; k < 1 + rng.below(40); k++) mutated[rng.below(mutated.length)] = rng.below(256);
      else if (kind === 1) for (let k = 0; k < 1 + rng.below(8); k++) mutated[4 + rng.below(10)]! ^= 1 << rng.below(8); // header
      else if (kind === 2) mutated.fill(rng.below(256), rng.below(mutated.length));
      rx.push(kind === 3 ? mutated.subarray(0, rng.below(mutated.length)) : mutated, 0x7fffffff);
    }
    expect(rx.errors.every((e) => e instanceof SerialPacketError)).toBe(true);
    expect(rx.value('framesIn')).toBeGreaterThan(10_000);
    expect(rx.value('uncorrectableFrames') + rx.value('syncLosses')).toBeGreaterThan(1000);
  });
});
