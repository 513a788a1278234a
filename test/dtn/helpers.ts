// Shared by the dtn tests: a representative bundle, and error matching.
import { expect } from 'vitest';
import { bundleAgeBlock, hopCountBlock, previousNodeBlock, qualityOfServiceBlock } from '../../flight/dtn/blocks.js';
import { BlockFlag, BundleFlag, type Bundle, type CrcType } from '../../flight/dtn/bundle.js';
import { BundleError, type BundleErrorCode } from '../../flight/dtn/bundle-error.js';
import { createBundle, type NewBundle } from '../../flight/dtn/codec.js';
import { ipn, parseEid } from '../../flight/dtn/eid.js';

/** DTN time of 2025-06-01T00:00:00Z, above 2^32 ms, so 8-byte integers are exercised. */
export const T0 = Date.UTC(2025, 5, 1) - 946_684_800_000;

export function payloadOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A bundle with every extension block Tern knows, plus one unknown, one of them replicated. */
export function sampleBundle(overrides: Partial<NewBundle> = {}, crcType: CrcType = 2): Bundle {
  return createBundle({
    destination: ipn(20, 1),
    source: ipn(10, 0),
    reportTo: parseEid('dtn://ground/reports'),
    flags: BundleFlag.reportDelivery | BundleFlag.statusTimeRequested,
    crcType,
    creationTime: T0,
    sequence: 7,
    lifetime: 3_600_000,
    blocks: [
      previousNodeBlock(ipn(11, 0)),
      bundleAgeBlock(1500),
      hopCountBlock({ limit: 30, count: 2 }),
      qualityOfServiceBlock({ priority: 2, ordinal: 9 }),
      { type: 200, flags: BlockFlag.replicate, data: Uint8Array.of(0xde, 0xad) },
    ],
    payload: payloadOf(300),
    ...overrides,
  });
}

/** Runs `fn`, expects a BundleError with `code` (and `field` when given), returns it. */
export function expectBundleError(fn: () => unknown, code: BundleErrorCode, field?: string): BundleError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(BundleError);
  const err = caught as BundleError;
  expect(err.code, err.message).toBe(code);
  if (field !== undefined) expect(err.field).toBe(field);
  return err;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}
