// The bundles of one LTP block. A block of the BP client service may hold several bundles one
// after another: ION's ltpclo aggregates the bundles queued for a span into one block, up to the
// span's aggregation size threshold or time limit, and its ltpcli reads them back one by one.
// A BPv7 bundle is one CBOR item (RFC 9171 4.1: an indefinite-length array), so each bundle's
// end is found by walking the CBOR item, without decoding the bundle (that is the agent's job,
// and this layer sits below it).
import { LtpBlockError } from './errors.js';

/** Nesting deeper than this is not a bundle (a BPv7 bundle nests 3 deep, 4 with a CRC array). */
const MAX_DEPTH = 16;

/** Splits a block into its bundles; a block that is not a sequence of whole CBOR items is refused. */
export function splitBundles(block: Uint8Array): Uint8Array[] {
  const bundles: Uint8Array[] = [];
  let at = 0;
  while (at < block.length) {
    const end = itemEnd(block, at, 0);
    bundles.push(block.subarray(at, end));
    at = end;
  }
  return bundles;
}

/** The offset just after the CBOR item that starts at `at`. */
function itemEnd(b: Uint8Array, at: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new LtpBlockError(`CBOR nested deeper than ${MAX_DEPTH} at byte ${at}`);
  const { major, info, value, next } = head(b, at);
  if (info === 31) {
    // Indefinite length: byte and text strings hold definite chunks; arrays and maps hold items.
    if (major < 2 || major > 5) throw new LtpBlockError(`CBOR major type ${major} with indefinite length at byte ${at}`);
    let p = next;
    for (;;) {
      if (p >= b.length) throw new LtpBlockError(`CBOR item at byte ${at} has no break before the block ends`);
      if (b[p] === 0xff) return p + 1;
      p = itemEnd(b, p, depth + 1);
    }
  }
  switch (major) {
    case 0: case 1: case 7:
      return next;
    case 2: case 3:
      if (value > b.length - next) throw new LtpBlockError(`CBOR string at byte ${at} of ${value} bytes runs past the block`);
      return next + value;
    case 6:
      return itemEnd(b, next, depth + 1);
    default: {
      let p = next;
      for (let i = 0; i < value * (major === 5 ? 2 : 1); i++) p = itemEnd(b, p, depth + 1);
      return p;
    }
  }
}

/** The CBOR head at `at`: major type, additional information, its argument and where the content starts. */
function head(b: Uint8Array, at: number): { major: number; info: number; value: number; next: number } {
  if (at >= b.length) throw new LtpBlockError(`CBOR item expected at byte ${at}, the block ends`);
  const major = b[at]! >> 5;
  const info = b[at]! & 0x1f;
  if (info < 24 || info === 31) {
    if (info === 31 && major === 7) throw new LtpBlockError(`CBOR break outside an indefinite-length item at byte ${at}`);
    return { major, info, value: info < 24 ? info : 0, next: at + 1 };
  }
  if (info > 27) throw new LtpBlockError(`CBOR additional information ${info} is reserved (byte ${at})`);
  const size = 1 << (info - 24);
  if (at + 1 + size > b.length) throw new LtpBlockError(`CBOR head at byte ${at} runs past the block`);
  let value = 0;
  for (let i = 1; i <= size; i++) value = value * 256 + b[at + i]!;
  // Lengths past 2^53 cannot fit a block; for numbers (major 0, 1, 7) the value is not used.
  if (value > Number.MAX_SAFE_INTEGER && major >= 2 && major <= 5) throw new LtpBlockError(`CBOR length at byte ${at} beyond 2^53`);
  return { major, info, value, next: at + 1 + size };
}
