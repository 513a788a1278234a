// CRC-32C in the Tern core (three lanes joined, flight/core/assembly/crc.ts) on 1 KiB and
// 64 KiB buffers, against a plain-JS slicing-by-8 CRC-32C (the single-lane algorithm the core
// used before) and Node's zlib.crc32 (CRC-32 with the IEEE polynomial, native and using the
// CPU's carry-less multiply: a ceiling WebAssembly cannot reach, not the same checksum).
// Figures are GB/s, written to test/bench/results/crc.json.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { crc32cReference } from '../support/crc-reference.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const TABLES = (() => {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff]! ^ (c >>> 8)) >>> 0;
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/** CRC-32C slicing-by-8 in plain JavaScript. */
function crc32cJs(data: Uint8Array): number {
  const t = TABLES;
  let crc = 0xffffffff;
  let i = 0;
  for (const end = data.length - 7; i < end; i += 8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ crc;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc = t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^ t[256 + ((hi >>> 16) & 0xff)]! ^ t[hi >>> 24]!;
  }
  for (; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

it('CRC-32C in the core vs plain-JS slicing-by-8 and native zlib.crc32, 1 KiB and 64 KiB', async () => {
  const core = new Core();
  const figures: Record<string, unknown> = {};
  for (const bytes of [1024, 65536]) {
    const data = randomBytes(bytes);
    const want = crc32cReference(data);
    expect(core.crc32c(data)).toBe(want);
    expect(crc32cJs(data)).toBe(want);
    const rates = await compare({
      core: { bytes, run: () => core.crc32c(data) },
      plainJs: { bytes, run: () => crc32cJs(data) },
      zlibCrc32: { bytes, run: () => crc32(data) },
    });
    figures[`${bytes}B`] = {
      gbPerSecond: Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.gbps])),
      coreVsPlainJs: rates.core.gbps / rates.plainJs.gbps,
      coreVsZlib: rates.core.gbps / rates.zlibCrc32.gbps,
    };
  }
  writeResult('crc', { command: 'npm run bench -- test/bench/crc.bench.ts', ...settings, ...figures });
});
