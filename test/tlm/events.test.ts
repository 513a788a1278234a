import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../flight/log.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { DEFAULT_REARM_QUIET_US, EventLog, formatEvent, type EventDef, type EventRecord } from '../../flight/tlm/events.js';

const quiet = createRootLogger({ level: 'silent' });
const FAULT: EventDef = { id: 0x0999, name: 'TEST_FAULT', severity: 'error', format: 'Fault {code} on {unit}', throttle: 3 };
const CHATTY: EventDef = { id: 0x0998, name: 'TEST_CHATTY', severity: 'activity', format: 'tick', throttle: 0 };

describe('event log', () => {
  it('formats, timestamps and fans out events', () => {
    const log = new EventLog(quiet, () => 1234);
    const seen: EventRecord[] = [];
    log.onEvent((e) => seen.push(e));
    expect(log.emit(FAULT, { code: 7, unit: 'rw-2' })).toBe(true);
    expect(seen).toEqual([{ id: 0x0999, name: 'TEST_FAULT', severity: 'error', message: 'Fault 7 on rw-2', args: { code: 7, unit: 'rw-2' }, timeUs: 1234 }]);
  });

  it('throttles an event after its limit, counts what it suppressed, and re-arms on reset', () => {
    const log = new EventLog(quiet, () => 0);
    const seen: EventRecord[] = [];
    log.onEvent((e) => seen.push(e));
    for (let i = 0; i < 10; i++) log.emit(FAULT, { code: i, unit: 'x' });
    expect(seen.map((e) => e.args.code)).toEqual([0, 1, 2]);
    expect(log.suppressed(FAULT)).toBe(7);
    expect(log.resetThrottles()).toBe(1);
    expect(log.emit(FAULT, { code: 99, unit: 'x' })).toBe(true);
    for (let i = 0; i < 100; i++) log.emit(CHATTY);
    expect(seen.filter((e) => e.name === 'TEST_CHATTY')).toHaveLength(100); // throttle 0: never
  });

  it('re-arms a throttle once its condition clears (quiet for the re-arm period), on the virtual clock, and says what it held back', () => {
    const clock = new VirtualClock();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createRootLogger({ level: 'debug', destination: { write: (s: string) => lines.push(JSON.parse(s)) } });
    const log = new EventLog(logger, () => clock.nowUs());
    const seen: EventRecord[] = [];
    log.onEvent((e) => seen.push(e));
    // A fault raised every 100 ms for a minute: three go out, the rest are held back...
    for (let i = 0; i < 600; i++, clock.advance(100_000)) log.emit(FAULT, { code: i, unit: 'x' });
    expect(seen).toHaveLength(3);
    // ...and while it keeps happening, the throttle holds however long it lasts.
    clock.advance(DEFAULT_REARM_QUIET_US - 200_000);
    expect(log.emit(FAULT, { code: 600, unit: 'x' })).toBe(false);
    // The fault stops; after the quiet period it is reported again, with the count held back.
    clock.advance(DEFAULT_REARM_QUIET_US);
    expect(log.emit(FAULT, { code: 601, unit: 'x' })).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: 'TEST_FAULT', code: 601, suppressed: 598 });
    expect(log.suppressed(FAULT)).toBe(0);
    // Re-armed fully: the next two go out, then it holds again.
    expect([602, 603, 604].map((code) => log.emit(FAULT, { code, unit: 'x' }))).toEqual([true, true, false]);
  });

  it('re-arms one throttle when its emitter sees the condition clear', () => {
    const log = new EventLog(quiet, () => 0);
    for (let i = 0; i < 5; i++) log.emit(FAULT, { code: i, unit: 'x' });
    expect(log.emit(FAULT, { code: 5, unit: 'x' })).toBe(false);
    log.rearm(FAULT);
    expect(log.emit(FAULT, { code: 6, unit: 'x' })).toBe(true);
  });

  it('writes events through the subsystem logger at the level of their severity', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createRootLogger({ level: 'debug', destination: { write: (s: string) => lines.push(JSON.parse(s)) } });
    new EventLog(logger, () => 0).emit(FAULT, { code: 1, unit: 'y' });
    expect(lines[0]).toMatchObject({ level: 'error', event: 'TEST_FAULT', eventId: 0x0999, code: 1, unit: 'y', msg: 'Fault 1 on y' });
  });

  it('leaves unknown placeholders visible rather than inventing values', () => {
    expect(formatEvent('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });
});
