// A bundle damaged beyond parity repair in a real store's segment file is quarantined and gets
// the "deleted" status report it asked for, made from the facts the store keeps in its metadata
// (the record's own head and primary block are among the damaged bytes), and is never forwarded.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, bundleKey, dtnNow, type Bundle } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { fragmentBundle } from '../../flight/dtn/fragment.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import { parseSegmentFileName, RECORD_MAGIC_BYTES } from '../../flight/dtn/store/format.js';
import { SNAPSHOT_FILE } from '../../flight/dtn/store/index-snapshot.js';
import { DATA_SHARDS, SHARD_BYTES } from '../../flight/dtn/store/parity.js';
import { StoreScrubber } from '../../flight/dtn/store/scrub.js';
import { flipFileBits } from '../../flight/ecc/injector.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { until } from '../support/wait.js';
import { FROM, closeStores, setup, type Setup } from '../dtn/agent-harness.js';

afterEach(closeStores);

const KIB = 1024;
const STRIPE = DATA_SHARDS * SHARD_BYTES;
const REPORT_TO = ipn(5, 7);

/** Twelve bundles of about 100 KiB that ask for deletion reports with times: whole ones, or fragments of one ADU. */
function subjects(kind: 'whole' | 'fragments'): Bundle[] {
  const make = (sequence: number, payload: number): Bundle => createBundle({
    destination: ipn(3, 1), source: ipn(5, 1), flags: BundleFlag.reportDeletion | BundleFlag.statusTimeRequested,
    creationTime: dtnNow(), sequence, lifetime: 3_600_000, reportTo: REPORT_TO,
    blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: new Uint8Array(payload).map((_, i) => (i * 7 + sequence) & 0xff),
  });
  if (kind === 'whole') return Array.from({ length: 12 }, (_, i) => make(i, 100 * KIB));
  const fragments = fragmentBundle(make(99, 1200 * KIB), 100 * KIB);
  expect(fragments.length).toBeGreaterThanOrEqual(12);
  return fragments;
}

/** Record offsets in a segment file: where the record magic is (bundle payloads here never hold it). */
function recordOffsets(file: string): number[] {
  const bytes = readFileSync(file);
  const out: number[] = [];
  for (let at = bytes.indexOf(RECORD_MAGIC_BYTES); at >= 0; at = bytes.indexOf(RECORD_MAGIC_BYTES, at + 1)) out.push(at);
  return out;
}

function scrubberFor(s: Setup, quarantines: Array<Promise<unknown>>) {
  const tlm = new TelemetryRegistry();
  const task = new StoreScrubber({
    dir: s.dir, budgetBytes: 300 * KIB, budgetUs: 2000, tlm, events: new EventLog(createRootLogger({ level: 'silent' }), () => 0),
    onUnrepairable: (lost) => quarantines.push(s.store.quarantine(lost)),
  });
  const value = (name: string): number => tlm.get(`ecc.store.${name}`)!.value;
  return {
    value,
    pass(): void {
      const until = value('passes') + 1;
      for (let slots = 0; value('passes') < until; slots++) {
        if (slots > 10_000) throw new Error('store scrubber made no progress');
        task.run({ frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 });
      }
    },
  };
}

describe('quarantine reports', () => {
  it.each(['whole', 'fragments'] as const)('a %s bundle damaged beyond repair (head and primary block too) gets its deleted report (reason 8, with time) and is never forwarded', async (kind) => {
    const s = await setup({ store: { segmentBytes: 600 * KIB } });
    s.link.up = false;
    const bundles = subjects(kind);
    for (const b of bundles) await s.agent.accept(b.bytes, FROM);
    await s.store.flushed();
    const quarantines: Array<Promise<unknown>> = [];
    const scrub = scrubberFor(s, quarantines);
    scrub.pass();
    expect(scrub.value('parityWritten')).toBeGreaterThan(0);

    // A record that starts in stripe 1 of the first segment and spans three of its shards: its
    // head, its primary block and two more shards damaged, one more than parity rebuilds.
    const first = join(s.dir, readdirSync(s.dir).filter((f) => parseSegmentFileName(f) !== undefined).sort()[0]!);
    const segment = parseSegmentFileName(first.split('/').at(-1)!)!;
    const offset = recordOffsets(first).find((o) => o >= STRIPE && o + 2 * SHARD_BYTES + 64 < 2 * STRIPE)!;
    expect(offset).toBeDefined();
    const [hit, ...others] = s.store.bundlesIn({ segment, start: offset, end: offset + 1 });
    expect(others).toEqual([]);
    expect(hit!.size).toBeGreaterThan(2 * SHARD_BYTES + 64);
    expect(hit!.reportTo).toBe('ipn:5.7');
    const subject = bundles.find((b) => bundleKey(b) === hit!.id)!;
    for (const at of [offset, offset + 40, offset + SHARD_BYTES + 64, offset + 2 * SHARD_BYTES + 64]) flipFileBits(first, at, 0x08);
    scrub.pass();
    expect(scrub.value('unrepairable')).toBe(1);
    expect(quarantines).toHaveLength(1);
    expect(await quarantines[0]).toMatchObject([{ id: hit!.id }]);

    // The report: to the report-to EID, asserting deletion with a time, reason 8, naming the subject.
    const reportTo = (): string[] => s.store.list().filter((b) => b.destination === 'ipn:5.7').map((b) => b.id);
    await until(() => reportTo().length === 1, 'the deleted report to be stored');
    const bytes = decodeBundle((await s.store.get(reportTo()[0]!))!);
    expect(bytes.primary.destination).toEqual(REPORT_TO);
    expect(bytes.primary.source).toEqual(ipn(1, 0));
    const report = decodeStatusReport(bytes);
    expect(report.reason).toBe(8);
    expect(Object.keys(report.asserted)).toEqual(['deleted']);
    expect(report.asserted.deleted!.time).toBeGreaterThan(0);
    const p = subject.primary;
    expect(report.subject).toEqual({
      source: p.source, creationTime: p.creationTime, sequence: p.sequence,
      ...(p.fragment ? { fragment: { offset: p.fragment.offset, length: subject.blocks.at(-1)!.data.length } } : {}),
    });
    expect(bytes.primary.lifetime).toBe(p.lifetime);
    expect(s.value('dtn.store.quarantined')).toBe(1);
    expect(s.value('dtn.deleted.blockUnintelligible')).toBe(1);
    expect(s.value('dtn.statusReportsSent')).toBe(1);
    expect(s.value('dtn.deletedUnreported')).toBe(0);

    // Never forwarded: with the link up every other bundle goes to node 2, the quarantined one does not.
    s.link.up = true;
    await s.dispatch();
    await until(() => s.link.sent.length >= bundles.length - 1, 'the intact bundles to be forwarded');
    const sent = s.link.sent.map((b) => bundleKey(decodeBundle(b)));
    expect(sent).not.toContain(hit!.id);
    expect(new Set(sent)).toEqual(new Set(bundles.map(bundleKey).filter((id) => id !== hit!.id)));
  });

  it('keeps the report facts through a clean restart (index snapshot) and a rebuild from the segments', async () => {
    const s = await setup({ store: { segmentBytes: 600 * KIB } });
    s.link.up = false;
    const [asks] = subjects('whole');
    const silent = createBundle({
      destination: ipn(3, 1), source: ipn(5, 1), creationTime: dtnNow(), sequence: 50, lifetime: 60_000,
      blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: new Uint8Array(10),
    });
    await s.agent.accept(asks!.bytes, FROM);
    await s.agent.accept(silent.bytes, FROM);
    const expected = { [bundleKey(asks!)]: ['ipn:5.7', true], [bundleKey(silent)]: [undefined, undefined] };
    const facts = (r: Setup) => Object.fromEntries(r.store.list().map((b) => [b.id, [b.reportTo, b.reportTime]]));
    expect(facts(s)).toEqual(expected);
    await s.store.close();
    const again = () => setup({ dir: s.dir, markPath: s.markPath, store: { segmentBytes: 600 * KIB } });
    const clean = await again();
    expect(clean.value('dtn.store.snapshotLoads')).toBe(1);
    expect(facts(clean)).toEqual(expected);
    await clean.store.close();
    // Without the snapshot (as after a crash) the index is rebuilt from the segment files.
    rmSync(join(s.dir, SNAPSHOT_FILE));
    const rebuilt = await again();
    expect(rebuilt.value('dtn.store.snapshotLoads')).toBe(0);
    expect(facts(rebuilt)).toEqual(expected);
  });
});
