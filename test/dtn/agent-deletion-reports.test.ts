// A report for every deleted bundle: whatever deletes a bundle (eviction under the full-store
// policy, the store's expiry sweep, the hop limit, a failed security check, a service that
// cannot take it), the "deleted" status report it asked for goes to its report-to EID with the
// RFC 9171 reason code, and the deletion is counted under that reason.
import { afterEach, describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../../flight/cla/errors.js';
import { signBundle } from '../../flight/dtn/bpsec.js';
import { hopCountBlock, qualityOfServiceBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, dtnNow, type Bundle } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { parseKeys } from '../../flight/dtn/keys.js';
import { decodeStatusReport, type StatusReport } from '../../flight/dtn/status-report.js';
import { until } from '../support/wait.js';
import { FROM, closeStores, setup, type Setup } from './agent-harness.js';

afterEach(closeStores);

let sequence = 0;

function asking(options: { destination?: number; priority?: 0 | 1 | 2; payload?: number; lifetime?: number; hops?: { limit: number; count: number } } = {}): Bundle {
  return createBundle({
    destination: ipn(options.destination ?? 3, 1), source: ipn(5, 1), flags: BundleFlag.reportDeletion,
    creationTime: dtnNow(), sequence: sequence++, lifetime: options.lifetime ?? 60_000, reportTo: ipn(5, 7),
    blocks: [hopCountBlock(options.hops ?? { limit: 4, count: 0 }), qualityOfServiceBlock({ priority: options.priority ?? 1 })],
    payload: new Uint8Array(options.payload ?? 16).fill(0x42),
  });
}

/** The status reports the node stored for sending (to ipn:5.7, the report-to EID). */
async function reports(s: Setup): Promise<StatusReport[]> {
  const out: StatusReport[] = [];
  for (const b of s.store.list()) {
    if (b.destination !== 'ipn:5.7') continue;
    out.push(decodeStatusReport(decodeBundle((await s.store.get(b.id))!)));
  }
  return out;
}

async function oneReport(s: Setup, subject: Bundle, reason: number): Promise<void> {
  await until(async () => (await reports(s)).length > 0, 'the status report to be stored');
  const [report, ...more] = await reports(s);
  expect(more).toEqual([]);
  expect(report!.reason).toBe(reason);
  expect(Object.keys(report!.asserted)).toEqual(['deleted']);
  expect(report!.subject.sequence).toBe(subject.primary.sequence);
  expect(report!.subject.creationTime).toBe(subject.primary.creationTime);
}

describe('a report for every deleted bundle', () => {
  it('eviction under the full-store policy: the evicted bundle gets its report (reason 4), counted', async () => {
    const s = await setup({ store: { capacityBytes: 5000 } });
    s.link.up = false;
    const bulk = asking({ priority: 0, payload: 3000 });
    await s.agent.accept(bulk.bytes, FROM);
    await s.agent.accept(asking({ priority: 2, payload: 3000 }).bytes, FROM);
    expect(s.value('dtn.store.evicted')).toBe(1);
    await oneReport(s, bulk, 4);
    expect(s.value('dtn.deleted.depletedStorage')).toBe(1);
  });

  it('eviction of a bundle whose own put was not yet durable: its bytes come from memory, the report goes all the same', async () => {
    const s = await setup({ store: { capacityBytes: 5000 } });
    s.link.up = false;
    const bulk = asking({ priority: 0, payload: 3000 });
    // Both in one turn: the bulk bundle's batch has not been written when the expedited one evicts it.
    await Promise.all([s.agent.accept(bulk.bytes, FROM), s.agent.accept(asking({ priority: 2, payload: 3000 }).bytes, FROM)]);
    expect(s.value('dtn.store.evicted')).toBe(1);
    await oneReport(s, bulk, 4);
    expect(s.value('dtn.deleted.depletedStorage')).toBe(1);
  });

  it("the store's expiry sweep: the expired bundle gets its report (reason 1), counted", async () => {
    const s = await setup();
    s.link.up = false;
    const doomed = asking({ lifetime: 1000 });
    await s.agent.accept(doomed.bytes, FROM);
    const expired = await s.store.expire(Date.now() + 10_000);
    expect(expired.map((b) => b.id)).toHaveLength(1);
    s.agent.expired(expired);
    await oneReport(s, doomed, 1);
    expect(s.value('dtn.deleted.lifetimeExpired')).toBe(1);
  });

  it('the hop limit: a bundle past it is refused with its report (reason 9), counted', async () => {
    const s = await setup();
    const over = asking({ hops: { limit: 2, count: 3 } });
    await expect(s.agent.accept(over.bytes, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    await oneReport(s, over, 9);
    expect(s.value('dtn.deleted.hopLimitExceeded')).toBe(1);
  });

  it('a failed security check: a tampered signed bundle is refused with its report, counted under its reason', async () => {
    const keys = parseKeys([{ kty: 'oct', kid: 'ipn:5.0', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') }], 'test');
    const s = await setup({ keys });
    const plain = createBundle({
      destination: ipn(9, 1), source: ipn(5, 1), flags: BundleFlag.reportDeletion, reportTo: ipn(5, 7), creationTime: dtnNow(), lifetime: 60_000, crcType: 0,
      blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: new TextEncoder().encode('signed payload'),
    });
    const signed = signBundle(plain, { key: keys[0]!, source: ipn(5, 0), targets: [0, 1] });
    const tampered = Uint8Array.from(signed.bytes);
    tampered[Buffer.from(tampered).indexOf(Buffer.from('signed payload'))] = 'S'.charCodeAt(0);
    await expect(s.agent.accept(tampered, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    await until(async () => (await reports(s)).length > 0, 'the status report to be stored');
    const [report] = await reports(s);
    expect(report!.reason).toBe(15); // failed security operation (RFC 9172)
    expect(s.value('dtn.deleted.failedSecurityOperation')).toBe(1);
  });

  it('undeliverable: a bundle its service cannot take is deleted with its report, counted', async () => {
    const s = await setup();
    s.agent.register(42, () => { throw new Error('service cannot take it'); });
    const refused = asking({ destination: 1 });
    const local = createBundle({ ...refused.primary, destination: ipn(1, 42), flags: BundleFlag.reportDeletion, blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: Uint8Array.of(1) });
    await s.agent.accept(local.bytes, FROM);
    await s.dispatch();
    await oneReport(s, local, 0);
    expect(s.value('dtn.deleted.noInformation')).toBe(1);
  });

  it('counts a deletion under its reason whether or not the bundle asked for a report', async () => {
    const s = await setup();
    const quiet = createBundle({
      destination: ipn(3, 1), source: ipn(5, 1), creationTime: dtnNow(), lifetime: 60_000, blocks: [hopCountBlock({ limit: 1, count: 2 })], payload: Uint8Array.of(1),
    });
    await expect(s.agent.accept(quiet.bytes, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    expect(s.value('dtn.deleted.hopLimitExceeded')).toBe(1);
    expect(s.value('dtn.statusReportsSent')).toBe(0);
  });

  it('only a report that is sent spends a creation sequence number: the next report follows the last', async () => {
    const s = await setup();
    s.link.up = false;
    const reportSequences = async (): Promise<number[]> => {
      const out: number[] = [];
      for (const b of s.store.list()) if (b.destination === 'ipn:5.7') out.push(decodeBundle((await s.store.get(b.id))!).primary.sequence);
      return out.sort((a, b) => a - b);
    };
    await expect(s.agent.accept(asking({ hops: { limit: 2, count: 3 } }).bytes, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    await until(async () => (await reportSequences()).length === 1, 'the first status report to be stored');
    // Received and stored, and refused for their hop limit: none asks for a report.
    for (let i = 0; i < 3; i++) {
      await s.agent.accept(createBundle({ destination: ipn(3, 1), source: ipn(5, 1), creationTime: dtnNow(), sequence: sequence++, lifetime: 60_000, blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: Uint8Array.of(i) }).bytes, FROM);
      await expect(s.agent.accept(createBundle({ destination: ipn(3, 1), source: ipn(5, 1), creationTime: dtnNow(), sequence: sequence++, lifetime: 60_000, blocks: [hopCountBlock({ limit: 1, count: 2 })], payload: Uint8Array.of(i) }).bytes, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    }
    await expect(s.agent.accept(asking({ hops: { limit: 2, count: 3 } }).bytes, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    await until(async () => (await reportSequences()).length === 2, 'the second status report to be stored');
    const [first, second] = await reportSequences();
    expect(second).toBe(first! + 1);
  });
});
