import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptBundle, encryptBundle, signBundle, verifyIntegrity } from '../../flight/dtn/bpsec.js';
import { BlockFlag, BundleFlag, bundleKey, payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { Reassembler, fragmentBundle } from '../../flight/dtn/fragment.js';
import { parseKeys } from '../../flight/dtn/keys.js';
import { expectBundleError, payloadOf, sampleBundle } from './helpers.js';

/** Fisher-Yates with a fixed seed, so a failure replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function reassemble(fragments: readonly Bundle[], r = new Reassembler()): Bundle {
  let whole: Bundle | undefined;
  for (const f of fragments) {
    const got = r.add(decodeBundle(f.bytes), 0);
    if (got) {
      expect(whole).toBeUndefined();
      whole = got;
    }
  }
  expect(whole).toBeDefined();
  return whole!;
}

describe('fragmentBundle', () => {
  const big = sampleBundle({ payload: payloadOf(10_000) });

  it.each([200, 333, 1000, 4096])('splits to at most %i bytes, replicating only flagged blocks, and reassembles byte for byte', (mtu) => {
    const fragments = fragmentBundle(big, mtu);
    expect(fragments.length).toBeGreaterThan(1);
    let next = 0;
    fragments.forEach((f, i) => {
      expect(f.bytes.length).toBeLessThanOrEqual(mtu);
      const d = decodeBundle(f.bytes);
      expect(d.primary.fragment).toEqual({ offset: next, totalLength: 10_000 });
      expect(d.primary.flags & BundleFlag.isFragment).toBe(BundleFlag.isFragment);
      next += payloadBlock(d).data.length;
      // The first fragment has every extension block; the others only the replicated ones (QoS, type 200).
      expect(d.blocks.map((b) => b.type)).toEqual(i === 0 ? [6, 7, 10, 193, 200, 1] : [193, 200, 1]);
    });
    expect(next).toBe(10_000);
    for (const seed of [1, 2, 3]) {
      expect(Buffer.from(reassemble(shuffled(fragments, seed)).bytes).equals(Buffer.from(big.bytes))).toBe(true);
    }
  });

  it('uses most of each frame: only the last fragment is short', () => {
    const fragments = fragmentBundle(big, 1000);
    expect(fragments.slice(0, -1).every((f) => f.bytes.length >= 990)).toBe(true);
  });

  it('re-fragments a fragment with offsets into the original ADU, and mixed fragmentations still reassemble', () => {
    const coarse = fragmentBundle(big, 4000);
    const fine = coarse.flatMap((f) => fragmentBundle(f, 700));
    expect(fine.every((f) => f.bytes.length <= 700)).toBe(true);
    expect(new Set(fine.map(bundleKey)).size).toBe(fine.length);
    const mixed = [coarse[0]!, ...fine.slice(3), ...fine.slice(0, 3)];
    expect(Buffer.from(reassemble(mixed).bytes).equals(Buffer.from(big.bytes))).toBe(true);
  });

  it('keeps unassigned flag bits above 2^31 through fragmentation and reassembly', () => {
    const flags = 2 ** 40 + 2 ** 33 + BundleFlag.reportDelivery;
    const high = sampleBundle({ flags, payload: payloadOf(3000) });
    const parts = fragmentBundle(high, 1000);
    expect(decodeBundle(parts[1]!.bytes).primary.flags).toBe(flags + BundleFlag.isFragment);
    const whole = reassemble(parts);
    expect(whole.primary.flags).toBe(flags);
    expect(Buffer.from(whole.bytes).equals(Buffer.from(high.bytes))).toBe(true);
  });

  it('returns a bundle that fits unchanged, and refuses what must not be fragmented or cannot fit', () => {
    expect(fragmentBundle(big, big.bytes.length)).toEqual([big]);
    const pinned = sampleBundle({ flags: BundleFlag.mustNotFragment, payload: payloadOf(5000) });
    expectBundleError(() => fragmentBundle(pinned, 1000), 'BUNDLE_FRAGMENT', 'primary.flags');
    expectBundleError(() => fragmentBundle(big, 120), 'BUNDLE_FRAGMENT', 'maxBytes');
  });

  it('carries BPSec through: encrypted and signed payload survives fragmentation and reassembly', () => {
    const k = parseKeys([{ kty: 'oct', kid: 'ipn:10.0', alg: 'HS256', k: randomBytes(32).toString('base64url') },
      { kty: 'oct', kid: 'ipn:10.0', alg: 'A128KW', enc: 'A128GCM', k: randomBytes(16).toString('base64url') }], 'keys');
    const signed = signBundle(big, { key: k[0]!, source: ipn(10, 0), targets: [1] });
    const sealed = encryptBundle(signed, { key: k[1]!, source: ipn(10, 0), targets: [1] });
    const fragments = fragmentBundle(sealed, 1500);
    // The BCB over the payload is replicated; the BIB (and the BCB over it) only go first.
    for (const f of fragments.slice(1)) expect(decodeBundle(f.bytes).blocks.filter((b) => b.type === 12)).toHaveLength(1);
    const whole = reassemble(shuffled(fragments, 9));
    const { bundle } = decryptBundle(whole, k);
    expect(verifyIntegrity(bundle, k).map((r) => r.status)).toEqual(['verified']);
    expect(Buffer.from(payloadBlock(bundle).data).equals(Buffer.from(payloadBlock(big).data))).toBe(true);
  });
});

describe('Reassembler', () => {
  const bundleOf = (seq: number, n = 3000): Bundle[] =>
    fragmentBundle(sampleBundle({ sequence: seq, payload: payloadOf(n, seq), blocks: [{ type: 200, flags: BlockFlag.replicate, data: Uint8Array.of(1) }] }), 800);

  it('ignores duplicates and counts them', () => {
    const r = new Reassembler();
    const parts = bundleOf(1);
    expect(r.add(parts[1]!, 0)).toBeUndefined();
    expect(r.add(parts[1]!, 0)).toBeUndefined();
    expect(r.stats.duplicates).toBe(1);
    expect(reassemble([parts[0]!, ...parts.slice(2)], r).primary.sequence).toBe(1);
    expect(r.stats).toMatchObject({ pendingBundles: 0, pendingBytes: 0, reassembled: 1 });
  });

  it('drops partial bundles at the timeout', () => {
    const r = new Reassembler({ maxBytes: 1 << 20, maxBundles: 10, timeoutMs: 1000 });
    r.add(bundleOf(1)[0]!, 0);
    r.add(bundleOf(2)[0]!, 600);
    expect(r.expire(999)).toBe(0);
    expect(r.expire(1000)).toBe(1);
    expect(r.stats).toMatchObject({ pendingBundles: 1, timedOut: 1 });
    expect(r.expire(1600)).toBe(1);
    expect(r.stats.pendingBytes).toBe(0);
  });

  it('stays within its memory and count limits by evicting the oldest partial bundle', () => {
    const r = new Reassembler({ maxBytes: 4000, maxBundles: 3, timeoutMs: 60_000 });
    for (let seq = 1; seq <= 6; seq++) {
      for (const part of bundleOf(seq).slice(1)) r.add(part, seq);
      expect(r.stats.pendingBytes).toBeLessThanOrEqual(4000);
      expect(r.stats.pendingBundles).toBeLessThanOrEqual(3);
    }
    expect(r.stats.evicted).toBeGreaterThan(0);
    expectBundleError(() => r.add(bundleOf(7, 5000)[0]!, 7), 'BUNDLE_REASSEMBLY', 'primary.totalLength');
    expectBundleError(() => r.add(sampleBundle(), 7), 'BUNDLE_REASSEMBLY', 'primary.flags');
  });
});
