import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBundle, encryptBundle } from '../../flight/dtn/bpsec.js';
import { BlockType, type Bundle } from '../../flight/dtn/bundle.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { withBundleAge, withHopIncremented, withPreviousNode } from '../../flight/dtn/edit.js';
import { ipn } from '../../flight/dtn/eid.js';
import { parseKeys } from '../../flight/dtn/keys.js';
import { expectBundleError, hex, sampleBundle } from './helpers.js';

/** Block numbers whose encoding differs between two bundles (blocks matched by number). */
function changedBlocks(a: Bundle, b: Bundle): number[] {
  const before = new Map(a.blocks.map((x) => [x.number, hex(x.bytes)]));
  return b.blocks.filter((x) => before.get(x.number) !== hex(x.bytes)).map((x) => x.number);
}

describe('forwarding edits re-encode only the block they change', () => {
  it('counts a hop: only the hop count block changes, its CRC is fresh, everything else is byte-identical', () => {
    for (const crcType of [0, 1, 2] as const) {
      const b = sampleBundle({}, crcType);
      const next = withHopIncremented(b);
      expect(changedBlocks(b, next)).toEqual([4]);
      expect(hex(next.primary.bytes)).toBe(hex(b.primary.bytes));
      const received = decodeBundle(next.bytes);
      expect(received.hopCount).toEqual({ limit: 30, count: 3 });
    }
  });

  it('sets the bundle age and previous node in place, or adds the block when missing', () => {
    const b = sampleBundle();
    const aged = withBundleAge(b, 2 ** 33);
    expect(changedBlocks(b, aged)).toEqual([3]);
    expect(decodeBundle(aged.bytes).bundleAge).toBe(2 ** 33);
    const moved = withPreviousNode(b, ipn(12, 0));
    expect(changedBlocks(b, moved)).toEqual([2]);
    expect(decodeBundle(moved.bytes).previousNode).toEqual(ipn(12, 0));

    const bare = sampleBundle({ blocks: [] });
    expect(withHopIncremented(bare)).toBe(bare);
    const added = decodeBundle(withPreviousNode(withBundleAge(bare, 5), ipn(3, 0)).bytes);
    expect(added.blocks.map((x) => [x.type, x.number])).toEqual([[BlockType.bundleAge, 2], [BlockType.previousNode, 3], [1, 1]]);
    expect([added.bundleAge, added.previousNode]).toEqual([5, ipn(3, 0)]);
  });

  it('refuses to change a block that a BIB protects or a BCB encrypts', () => {
    const [hk, ck] = parseKeys([
      { kty: 'oct', alg: 'HS256', k: randomBytes(32).toString('base64url') },
      { kty: 'oct', enc: 'A128GCM', k: randomBytes(16).toString('base64url') },
    ], 'keys');
    const signed = signBundle(sampleBundle(), { key: hk!, source: ipn(10, 0), targets: [4] });
    expectBundleError(() => withHopIncremented(signed), 'BUNDLE_SECURITY', 'block');
    const sealed = encryptBundle(sampleBundle(), { key: ck!, source: ipn(10, 0), targets: [3, 4] });
    expectBundleError(() => withHopIncremented(sealed), 'BUNDLE_SECURITY', 'block');
    expectBundleError(() => withBundleAge(sealed, 1), 'BUNDLE_SECURITY', 'block');
    // Blocks outside every security operation stay editable, also next to an encrypted BIB.
    expect(decodeBundle(withPreviousNode(signed, ipn(5, 0)).bytes).previousNode).toEqual(ipn(5, 0));
    const sealedBib = encryptBundle(signBundle(sampleBundle(), { key: hk!, source: ipn(10, 0), targets: [1] }), { key: ck!, source: ipn(10, 0), targets: [1] });
    expect(sealedBib.security.some((x) => x.block.type === BlockType.integrity && x.asb === undefined)).toBe(true);
    expect(decodeBundle(withHopIncremented(sealedBib).bytes).hopCount).toEqual({ limit: 30, count: 3 });
  });
});
