import { describe, expect, it } from 'vitest';
import { bundleAgeBlock, hopCountBlock, qualityOfServiceBlock } from '../../flight/dtn/blocks.js';
import { BlockFlag, aduKey, bundleKey, bundlePriority, expiresAt, isExpired } from '../../flight/dtn/bundle.js';
import { StatusReason } from '../../flight/dtn/bundle-error.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { fragmentBundle } from '../../flight/dtn/fragment.js';
import { checkHopLimit, checkLifetime, checkValidity, processUnknownBlocks } from '../../flight/dtn/policy.js';
import { T0, expectBundleError, payloadOf, sampleBundle } from './helpers.js';
import { rfc9173Vectors } from './vectors.js';

describe('validity policy', () => {
  it('refuses the RFC 9173 Appendix A bundles by default and accepts them when told to', () => {
    for (const v of rfc9173Vectors()) {
      const b = decodeBundle(v.bytes);
      if (v.name === 'rfc9173_appendix_a_3') {
        // A.3 is the valid one: its BIB covers the primary block and it carries a bundle age block.
        expect(() => checkValidity(b)).not.toThrow();
        continue;
      }
      expectBundleError(() => checkValidity(b), 'BUNDLE_POLICY', 'primary.crcType');
      expectBundleError(() => checkValidity(b, { requirePrimaryCrc: false }), 'BUNDLE_POLICY', 'primary.creationTimestamp.time');
      expect(() => checkValidity(b, { requirePrimaryCrc: false, requireAgeWithoutClock: false })).not.toThrow();
    }
    expect(() => checkValidity(sampleBundle())).not.toThrow();
  });

  it('expires by creation time + lifetime, or without a clock by lifetime - age after receipt', () => {
    const b = sampleBundle({ lifetime: 10_000 });
    expect(expiresAt(b, 0)).toBe(T0 + 10_000);
    expect(() => checkLifetime(b, T0 + 10_000, T0)).not.toThrow();
    const err = expectBundleError(() => checkLifetime(b, T0 + 10_001, T0), 'BUNDLE_EXPIRED');
    expect(err.statusReason).toBe(StatusReason.lifetimeExpired);
    const clockless = sampleBundle({ creationTime: 0, lifetime: 10_000, blocks: [bundleAgeBlock(4000)] });
    expect(expiresAt(clockless, 500_000)).toBe(506_000);
    expect(isExpired(clockless, 506_001, 500_000)).toBe(true);
  });

  it('deletes past the hop limit with reason "hop limit exceeded"', () => {
    const at = (count: number) => sampleBundle({ blocks: [hopCountBlock({ limit: 3, count })] });
    expect(() => checkHopLimit(at(3))).not.toThrow();
    const err = expectBundleError(() => checkHopLimit(at(4)), 'BUNDLE_HOP_LIMIT', 'hopCount.count');
    expect(err.statusReason).toBe(StatusReason.hopLimitExceeded);
    expect(err.block).toMatchObject({ type: 10, number: 2 });
  });

  it('keeps, discards or deletes per each unknown block\'s flags, noting report requests', () => {
    const b = sampleBundle({
      blocks: [
        { type: 150, data: Uint8Array.of(1) },
        { type: 151, flags: BlockFlag.discardIfUnprocessed | BlockFlag.reportIfUnprocessed, data: Uint8Array.of(2) },
        { type: 152, flags: BlockFlag.discardIfUnprocessed, data: Uint8Array.of(3) },
        qualityOfServiceBlock({ priority: 0 }),
      ],
    });
    const out = processUnknownBlocks(b);
    expect(out.discarded.map((x) => x.type)).toEqual([151, 152]);
    expect(out.report.map((x) => x.type)).toEqual([151]);
    expect(out.bundle.blocks.map((x) => x.type)).toEqual([150, 193, 1]);
    expect(decodeBundle(out.bundle.bytes).blocks).toHaveLength(3);
    expect(processUnknownBlocks(sampleBundle({ blocks: [] })).discarded).toEqual([]);
    const doomed = sampleBundle({ blocks: [{ type: 160, flags: BlockFlag.deleteBundleIfUnprocessed | BlockFlag.discardIfUnprocessed, data: Uint8Array.of(0) }] });
    const err = expectBundleError(() => processUnknownBlocks(doomed), 'BUNDLE_UNSUPPORTED_BLOCK', 'block.type');
    expect(err.statusReason).toBe(StatusReason.blockUnsupported);
    // A type the caller says it knows is left alone.
    expect(processUnknownBlocks(doomed, new Set([1, 160])).bundle).toBe(doomed);
  });
});

describe('bundle identity and priority', () => {
  it('keys a bundle by source, creation time and sequence, and a fragment also by its place', () => {
    const b = sampleBundle({ payload: payloadOf(3000) });
    expect(bundleKey(b)).toBe(`ipn:10.0|${T0}|7`);
    const parts = fragmentBundle(b, 1000);
    const keys = parts.map(bundleKey);
    expect(new Set(keys).size).toBe(parts.length);
    expect(keys[1]).toMatch(new RegExp(`^ipn:10.0\\|${T0}\\|7\\|\\d+\\|\\d+$`));
    expect(new Set(parts.map(aduKey))).toEqual(new Set([bundleKey(b)]));
    expect(bundleKey(sampleBundle({ sequence: 8 }))).not.toBe(bundleKey(b));
  });

  it('reads priority from ION\'s QoS block, standard without one', () => {
    expect(bundlePriority(sampleBundle())).toBe(2);
    expect(bundlePriority(sampleBundle({ blocks: [] }))).toBe(1);
    expect(bundlePriority(decodeBundle(sampleBundle({ blocks: [qualityOfServiceBlock({ priority: 0 })] }).bytes))).toBe(0);
  });
});
