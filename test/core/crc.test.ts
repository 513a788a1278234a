import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { crc16X25Reference, crc32cReference } from '../support/crc-reference.js';

const CHECK = new TextEncoder().encode('123456789');

describe.each(['simd', 'scalar'] as const)('WASM core CRCs (%s build)', (variant) => {
  const core = new Core(variant);

  it('gives the standard check values for "123456789"', () => {
    expect(core.crc32c(CHECK)).toBe(0xe3069283);
    expect(core.crc16X25(CHECK)).toBe(0x906e);
  });

  it('gives the values of empty input', () => {
    expect(core.crc32c(new Uint8Array())).toBe(0);
    expect(core.crc16X25(new Uint8Array())).toBe(0);
  });

  // Up to 1,000 bytes: every split of a buffer into three-lane strides (192 bytes) and the
  // eight-byte and single-byte tails after them.
  it('matches the bitwise reference on random data of every length up to 1,000 bytes', () => {
    for (let n = 0; n <= 1000; n++) {
      const data = randomBytes(n);
      expect(core.crc32c(data)).toBe(crc32cReference(data));
      expect(core.crc16X25(data)).toBe(crc16X25Reference(data));
    }
  });

  it('feeds inputs larger than its scratch buffer in chunks without changing the result', () => {
    const data = randomBytes(200_003);
    expect(core.crc32c(data)).toBe(crc32cReference(data));
    expect(core.crc16X25(data)).toBe(crc16X25Reference(data));
  });
});
