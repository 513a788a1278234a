// The anti-replay window on its own: IPsec-style bitmap, persisted in a record file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReplayGuard, REPLAY_WINDOW } from '../../flight/cmd/replay.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

function guard(dataDir: string): { replay: ReplayGuard; events: EventRecord[] } {
  const events: EventRecord[] = [];
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  log.onEvent((e) => events.push(e));
  const channel = new TelemetryRegistry().define({ name: 'x', type: 'u32', units: '', doc: '' });
  return { replay: new ReplayGuard(dataDir, log, channel), events };
}

const accepts = (replay: ReplayGuard, operator: number, seq: number): boolean => {
  try {
    replay.commit(operator, seq);
    return true;
  } catch {
    return false;
  }
};

describe('replay guard', () => {
  it('accepts each number once within a 64-number window, in any order', () => {
    const { replay } = guard(mkdtempSync(join(tmpdir(), 'tern-replay-')));
    expect(accepts(replay, 1, 0)).toBe(false);
    expect([10, 8, 9, 10, 8, 11].map((s) => accepts(replay, 1, s))).toEqual([true, true, true, false, false, true]);
    expect(accepts(replay, 1, 11 - REPLAY_WINDOW + 1)).toBe(true);
    expect(accepts(replay, 1, 11 - REPLAY_WINDOW)).toBe(false);
    // A jump beyond the window forgets everything below it.
    expect(accepts(replay, 1, 1000)).toBe(true);
    expect(accepts(replay, 1, 999)).toBe(true);
    expect(accepts(replay, 1, 936)).toBe(false);
    expect(accepts(replay, 1, 937)).toBe(true);
    expect(replay.high(1)).toBe(1000);
    expect(() => replay.check(1, 999)).toThrow(/operator 1 sequence 999: already used/);
  });

  it('remembers the window across restarts and survives a corrupt primary copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-replay-'));
    const first = guard(dir).replay;
    for (const seq of [5, 3, 70]) first.commit(2, seq);
    const file = join(dir, 'replay.rec');
    const bytes = readFileSync(file);
    bytes[9]! ^= 0xff;
    writeFileSync(file, bytes);
    const { replay, events } = guard(dir);
    expect(events.map((e) => e.name)).toEqual(['CMD_RECORD_RECOVERED']);
    expect(accepts(replay, 2, 70)).toBe(false);
    expect(accepts(replay, 2, 7)).toBe(true);
    expect(accepts(replay, 2, 6)).toBe(false); // 70 - 6 = 64: outside the window
    expect(accepts(replay, 2, 69)).toBe(true);
  });
});
