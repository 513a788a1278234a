import { describe, expect, it } from 'vitest';
import { decodeDownlink } from '../../gse/tlm.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { Downlink } from '../../flight/tlm/downlink.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

const hk = (seq: number) => ({ kind: 'hk' as const, record: { node: 3, seq, frame: seq, mode: 'NOMINAL', channels: { 'exec.frames': seq } } });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(send: (payload: Uint8Array) => Promise<unknown>, maxQueued = 8) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: EventRecord[] = [];
  events.onEvent((e) => seen.push(e));
  const downlink = new Downlink({ send, tlm, events, maxQueued, maxItemsPerBundle: 4 });
  const value = (name: string): number => tlm.get(name)!.value;
  return { downlink, value, seen };
}

describe('downlink', () => {
  it('packs the items of one turn into one bundle, at most maxItemsPerBundle each, in order', async () => {
    const bundles: Uint8Array[] = [];
    const { downlink, value } = setup(async (p) => void bundles.push(p));
    for (let i = 0; i < 6; i++) downlink.push(hk(i));
    await turn();
    await turn();
    await turn();
    expect(bundles.map((b) => decodeDownlink(b).map((item) => (item.record as { seq: number }).seq))).toEqual([[0, 1, 2, 3], [4, 5]]);
    expect(value('tlm.downlink.items')).toBe(6);
    expect(value('tlm.downlink.bundles')).toBe(2);
    expect(value('tlm.downlink.dropped')).toBe(0);
  });

  it('drops and counts beyond its queue while a bundle is being stored, and reports a failed store', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: number[] = [];
    const { downlink, value, seen } = setup(async (p) => {
      calls.push(decodeDownlink(p).length);
      if (calls.length === 1) await gate;
      else throw new Error('store full');
    });
    downlink.push(hk(0));
    await turn();
    for (let i = 1; i <= 10; i++) downlink.push(hk(i));
    expect(value('tlm.downlink.dropped')).toBe(2); // 10 pushed, a queue of 8
    release();
    await gate;
    for (let i = 0; i < 6; i++) await turn();
    expect(calls[0]).toBe(1);
    expect(value('tlm.downlink.bundles')).toBe(1);
    // The failed bundles' items are counted as dropped and reported by an event.
    expect(value('tlm.downlink.dropped')).toBe(10); // 2 + the 8 whose bundles failed
    expect(seen.some((e) => e.name === 'TLM_DOWNLINK_FAILED' && e.message.includes('store full'))).toBe(true);
  });

  it('on close, waits for the bundle being stored and takes no more items', async () => {
    let release!: () => void;
    let stored = 0;
    const { downlink, value } = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      stored++;
    });
    downlink.push(hk(0));
    await turn();
    let closed = false;
    const closing = downlink.close().then(() => (closed = true));
    await turn();
    expect(closed).toBe(false);
    release();
    await closing;
    expect(stored).toBe(1);
    downlink.push(hk(1));
    await turn();
    expect(value('tlm.downlink.dropped')).toBe(1);
    expect(value('tlm.downlink.bundles')).toBe(1);
  });
});
