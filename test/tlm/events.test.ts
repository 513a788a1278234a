import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../flight/log.js';
import { EventLog, formatEvent, type EventDef, type EventRecord } from '../../flight/tlm/events.js';

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
    log.resetThrottles();
    expect(log.emit(FAULT, { code: 99, unit: 'x' })).toBe(true);
    for (let i = 0; i < 100; i++) log.emit(CHATTY);
    expect(seen.filter((e) => e.name === 'TEST_CHATTY')).toHaveLength(100); // throttle 0: never
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
