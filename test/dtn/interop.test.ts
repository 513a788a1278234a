// ION-DTN 4.1.3's fragments (../shared/vectors/bpv7/ion-4.1.3-fragments, captured from ION's UDP
// convergence layer) number every extension block 0. Tern renumbers them where that is
// unambiguous, counts it, refuses them in strict mode, and reassembles ION's 3,000-byte bping.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../../flight/cla/errors.js';
import { Fields } from '../../flight/config/fields.js';
import { parseDtnConfig } from '../../flight/dtn/config.js';
import { BlockType, DTN_EPOCH_UNIX_MS, payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { BundleError } from '../../flight/dtn/bundle-error.js';
import { decodeBundle, readBlocks } from '../../flight/dtn/codec.js';
import { Reassembler } from '../../flight/dtn/fragment.js';
import { isZeroBlockNumber, renumberZeroBlocks } from '../../flight/dtn/interop.js';
import { until } from '../support/wait.js';
import { FROM, closeStores, setup } from './agent-harness.js';

afterEach(closeStores);

const DIR = fileURLToPath(new URL('../../../shared/vectors/bpv7/ion-4.1.3-fragments/', import.meta.url));
const captured = [1, 2, 3].map((n) => Uint8Array.from(Buffer.from(readFileSync(join(DIR, `fragment-${n}.hex`), 'utf8').trim(), 'hex')));

/** The README: a 3,000-byte bping payload, "<count> <seconds> <microseconds> <pid> bping payload" then NULs. */
function expectBpingPayload(payload: Uint8Array): void {
  expect(payload.length).toBe(3000);
  const text = Buffer.from(payload).toString('latin1');
  const end = text.indexOf('\0');
  expect(text.slice(0, end)).toMatch(/^\d+ \d+ \d+ \d+ bping payload$/);
  expect(payload.subarray(end).every((b) => b === 0)).toBe(true);
}

describe('ION 4.1.3 fragments', () => {
  it('are refused by the strict decoder: extension blocks numbered 0', () => {
    for (const bytes of captured) {
      let error: unknown;
      try {
        decodeBundle(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BundleError);
      expect(isZeroBlockNumber(error)).toBe(true);
    }
  });

  it('renumber to 2, 3, 4 in wire order, every other byte as ION sent it, and reassemble to the bping payload', () => {
    const repaired = captured.map((bytes) => renumberZeroBlocks(bytes)!);
    const reassembler = new Reassembler();
    let whole: Bundle | undefined;
    for (const [i, fragment] of repaired.entries()) {
      expect(fragment.blocks.map((b) => [b.type, b.number])).toEqual([[6, 2], [193, 3], [7, 4], [BlockType.payload, 1]]);
      const original = decodeBundleLeniently(captured[i]!);
      expect(Buffer.from(fragment.primary.bytes).equals(Buffer.from(original.primary))).toBe(true);
      fragment.blocks.forEach((b, k) => expect(Buffer.from(b.data).equals(Buffer.from(original.data[k]!))).toBe(true));
      expect(fragment.primary.fragment).toEqual({ offset: 1000 * i, totalLength: 3000 });
      // Stored and forwarded as repaired: the bytes decode strictly.
      expect(decodeBundle(fragment.bytes).blocks.map((b) => b.number)).toEqual([2, 3, 4, 1]);
      whole = reassembler.add(fragment, Date.now()) ?? whole;
    }
    expect(whole).toBeDefined();
    expect(whole!.primary.fragment).toBeUndefined();
    expect(whole!.primary.source).toEqual({ scheme: 'ipn', node: 1, service: 1 });
    expect(whole!.primary.destination).toEqual({ scheme: 'ipn', node: 20, service: 7 });
    expectBpingPayload(payloadBlock(whole!).data);
  });

  it('stay refused when renumbering would be ambiguous: a security block could target any of the blocks numbered 0', () => {
    const hex = Buffer.from(captured[0]!).toString('hex');
    expect(hex).toContain('8518c1');
    const withBib = Uint8Array.from(Buffer.from(hex.replace('8518c1', '850b'), 'hex')); // the QoS block's type becomes BIB (11)
    expect(() => decodeBundle(withBib)).toThrow(BundleError);
    expect(renumberZeroBlocks(withBib)).toBeUndefined();
  });

  it('reach a node that delivers the reassembled bundle, counted; a strict node refuses them', async () => {
    const created = decodeBundleLeniently(captured[0]!).creationTime + DTN_EPOCH_UNIX_MS;
    const now = (): number => created + 1000; // the capture's own time: its lifetime is an hour
    const s = await setup({ node: 20, now });
    const got: Uint8Array[] = [];
    s.agent.register(7, (b) => void got.push(payloadBlock(b).data));
    for (const bytes of captured) await s.agent.accept(bytes, FROM);
    expect(s.value('dtn.interop.blocksRenumbered')).toBe(3);
    expect(s.value('dtn.bundlesRejected')).toBe(0);
    await until(async () => {
      await s.dispatch();
      return got.length === 1;
    }, 'the reassembled bundle to be delivered');
    expectBpingPayload(got[0]!);
    expect(s.value('dtn.reassembled')).toBe(1);

    const strict = await setup({ node: 20, now, strictBlockNumbers: true });
    const refused = await strict.agent.accept(captured[0]!, FROM).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BundleRefusedError);
    expect((refused as BundleRefusedError).reason).toBe('not-acceptable');
    expect(strict.value('dtn.reject.structure')).toBe(1);
    expect(strict.value('dtn.interop.blocksRenumbered')).toBe(0);
  });
});

/** What ION sent, read without the block-number checks: the primary block's bytes, each block's data, the creation time. */
function decodeBundleLeniently(bytes: Uint8Array): { primary: Uint8Array; data: Uint8Array[]; creationTime: number } {
  const { primary, blocks } = readBlocks(bytes);
  return { primary: primary.bytes, data: blocks.map((b) => b.data), creationTime: primary.creationTime };
}

describe('dtn.strictBlockNumbers', () => {
  it('is false unless the mission config says true, and must be a boolean', () => {
    const f = new Fields('mission.json');
    expect(parseDtnConfig(f, undefined, 'dtn').strictBlockNumbers).toBe(false);
    expect(parseDtnConfig(f, { strictBlockNumbers: true }, 'dtn').strictBlockNumbers).toBe(true);
    expect(() => parseDtnConfig(f, { strictBlockNumbers: 'yes' }, 'dtn')).toThrow(/dtn\.strictBlockNumbers/);
  });
});
