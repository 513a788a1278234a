import { describe, expect, it } from 'vitest';
import { BlockFlag } from '../../flight/dtn/bundle.js';
import { BundleError } from '../../flight/dtn/bundle-error.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { DTN_CHANNELS, DTN_EVENTS, REJECTION_CHANNEL } from '../../flight/dtn/dictionary.js';
import { Reassembler, fragmentBundle } from '../../flight/dtn/fragment.js';
import { processUnknownBlocks } from '../../flight/dtn/policy.js';
import { BundleTelemetry } from '../../flight/dtn/telemetry.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { payloadOf, sampleBundle } from './helpers.js';

function harness(): { t: BundleTelemetry; value: (name: string) => number; events: EventRecord[] } {
  const registry = new TelemetryRegistry();
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const events: EventRecord[] = [];
  log.onEvent((e) => events.push(e));
  const t = new BundleTelemetry(registry, log, 1000);
  return { t, value: (name) => registry.get(name)!.value, events };
}

describe('dtn telemetry', () => {
  it('declares one counter per error code and event ids in the dtn range', () => {
    const names = new Set(Object.values(DTN_CHANNELS).map((c) => c.name));
    expect(names.size).toBe(Object.keys(DTN_CHANNELS).length);
    for (const channel of Object.values(REJECTION_CHANNEL)) expect(DTN_CHANNELS[channel].name).toMatch(/^dtn\.reject\./);
    expect(new Set(Object.values(REJECTION_CHANNEL)).size).toBe(Object.keys(REJECTION_CHANNEL).length);
    for (const e of Object.values(DTN_EVENTS)) expect(e.id >> 8).toBe(0x03);
  });

  it('counts a rejection under its code and emits an event naming block and field', () => {
    const { t, value, events } = harness();
    const bytes = Uint8Array.from(sampleBundle().bytes);
    bytes[bytes.length - 10]! ^= 1;
    try {
      decodeBundle(bytes);
    } catch (err) {
      t.rejected(err);
    }
    expect(value('dtn.bundlesRejected')).toBe(1);
    expect(value('dtn.reject.crc')).toBe(1);
    expect(events[0]).toMatchObject({ id: 0x0301, name: 'DTN_BUNDLE_REJECTED' });
    expect(events[0]!.message).toContain('block 1 block.crc');
    expect(() => t.rejected(new TypeError('bug'))).toThrow(TypeError);
    expect(value('dtn.bundlesRejected')).toBe(1);
    t.rejected(new BundleError('BPSEC_INTEGRITY', 'asb.results[0]', 'HMAC mismatch', { index: 2, type: 11, number: 3 }));
    expect(events[1]).toMatchObject({ id: 0x0302, severity: 'error' });
  });

  it('publishes discarded blocks and reassembly progress, timeouts and evictions', () => {
    const { t, value, events } = harness();
    const b = sampleBundle({ blocks: [{ type: 150, flags: BlockFlag.discardIfUnprocessed, data: Uint8Array.of(1) }] });
    t.unknownBlocks(b, processUnknownBlocks(b));
    expect(value('dtn.blocksDiscarded')).toBe(1);
    expect(events.at(-1)).toMatchObject({ id: 0x0303, args: { types: '150' } });

    const r = new Reassembler({ maxBytes: 1 << 20, maxBundles: 2, timeoutMs: 10 });
    const parts = (seq: number) => fragmentBundle(sampleBundle({ sequence: seq, payload: payloadOf(2000) }), 700);
    for (const seq of [1, 2, 3]) r.add(parts(seq)[1]!, 0);
    t.reassembly(r.stats);
    expect(value('dtn.reassemblyEvictions')).toBe(1);
    r.expire(100);
    t.reassembly(r.stats);
    t.reassembly(r.stats);
    expect(value('dtn.reassemblyTimeouts')).toBe(2);
    expect(value('dtn.reassemblyPendingBytes')).toBe(0);
    expect(events.filter((e) => e.id === 0x0304)).toHaveLength(1);
  });
});
