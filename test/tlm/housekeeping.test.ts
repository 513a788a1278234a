import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { HousekeepingTask, type HousekeepingRecord } from '../../flight/tlm/housekeeping.js';

function setup() {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: EventRecord[] = [];
  events.onEvent((e) => seen.push(e));
  const lines: Array<Record<string, unknown>> = [];
  const log = createRootLogger({ destination: { write: (s: string) => lines.push(JSON.parse(s)) } });
  const hk = new HousekeepingTask(tlm, events, { node: 3, summaryEvery: 2, log });
  const records: HousekeepingRecord[] = [];
  hk.onRecord((r) => records.push(r));
  return { tlm, hk, seen, lines, records };
}

const frame = (n: number) => ({ frame: n, minor: 0, mode: 'NOMINAL', deadlineUs: 0 });

describe('telemetry channels and housekeeping', () => {
  it('keeps channel values, refuses duplicate names, and grows past its initial capacity', () => {
    const tlm = new TelemetryRegistry();
    const a = tlm.define({ name: 'x.a', type: 'u32', units: 'n', doc: 'a' });
    a.add();
    a.add(4);
    expect(a.value).toBe(5);
    expect(() => tlm.define({ name: 'x.a', type: 'u32', units: 'n', doc: 'again' })).toThrow(/defined twice/);
    const many = Array.from({ length: 200 }, (_, i) => tlm.define({ name: `x.m${i}`, type: 'f64', units: '', doc: '' }));
    many.forEach((c, i) => c.set(i));
    expect(a.value).toBe(5);
    expect(tlm.get('x.m199')!.value).toBe(199);
    expect(Object.keys(tlm.snapshot())).toHaveLength(201);
  });

  it('publishes a record of every channel per run and logs a summary every Nth', () => {
    const { tlm, hk, lines, records } = setup();
    tlm.define({ name: 'exec.frames', type: 'u64', units: 'frames', doc: '' }).set(42);
    for (let i = 0; i < 4; i++) hk.run(frame(i));
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    expect(records[3]).toMatchObject({ node: 3, frame: 3, mode: 'NOMINAL', channels: { 'exec.frames': 42 } });
    expect(lines.filter((l) => l.msg === 'health')).toHaveLength(2);
    expect(hk.record(9, "SAFE")).toMatchObject({ seq: 4, frame: 9, mode: "SAFE", channels: { "exec.frames": 42 } });
  });

  it('raises an event on each limit transition, not on every record', () => {
    const { tlm, hk, seen } = setup();
    const temp = tlm.define({ name: 'eps.tempC', type: 'f64', units: 'C', doc: '', yellow: { low: -10, high: 50 }, red: { low: -20, high: 70 } });
    const trace: string[] = [];
    for (const t of [20, 55, 56, 75, 60, 20, 20, -25]) {
      temp.set(t);
      hk.run(frame(0));
      trace.push(temp.limitState());
    }
    expect(trace).toEqual(['nominal', 'yellow', 'yellow', 'red', 'yellow', 'nominal', 'nominal', 'red']);
    expect(seen.map((e) => e.message)).toEqual([
      'eps.tempC = 55 C: outside its yellow limits',
      'eps.tempC = 75 C: outside its red limits',
      'eps.tempC = 60 C: outside its yellow limits',
      'eps.tempC = 20 C: back within limits',
      'eps.tempC = -25 C: outside its red limits',
    ]);
  });
});
