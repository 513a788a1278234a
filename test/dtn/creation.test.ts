// Creation timestamps: every bundle Tern makes has its own (creation time, sequence) pair, in
// one millisecond, across restarts, and from the ground tools.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE } from '../../flight/dtn/agent.js';
import { bundleKey, payloadBlock } from '../../flight/dtn/bundle.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { CreationClock, CreationMarkError, CreationStampError } from '../../flight/dtn/creation.js';
import { ipn } from '../../flight/dtn/eid.js';
import { commandBundle } from '../../gse/transport.js';
import { until } from '../support/wait.js';
import { FROM, closeStores, setup } from './agent-harness.js';

afterEach(closeStores);

const markPath = (): string => join(mkdtempSync(join(tmpdir(), 'tern-creation-')), 'creation.seq');
const T = Date.now();

describe('creation timestamps', () => {
  it('two ground commands made in the same millisecond get different bundle ids, and both are delivered', async () => {
    const s = await setup();
    const got: string[] = [];
    s.agent.register(SERVICE.command, (b) => void got.push(new TextDecoder().decode(payloadBlock(b).data)));
    const first = commandBundle(new TextEncoder().encode('first'), 1, 100, T + 60_000, T);
    const second = commandBundle(new TextEncoder().encode('second'), 1, 100, T + 60_000, T);
    expect(decodeBundle(first).primary.creationTime).toBe(decodeBundle(second).primary.creationTime);
    expect(bundleKey(decodeBundle(first))).not.toBe(bundleKey(decodeBundle(second)));
    await s.agent.accept(first, FROM);
    await s.agent.accept(second, FROM);
    expect(s.value('dtn.agent.duplicates')).toBe(0);
    await until(async () => {
      await s.dispatch();
      return got.length === 2;
    }, 'both commands to be delivered');
    expect(got.sort()).toEqual(['first', 'second']);
  });

  it('a node restarted within the same millisecond does not reuse a bundle id', async () => {
    const now = (): number => T;
    const before = await setup({ now });
    const ids = [
      await before.agent.send({ destination: ipn(9, 1), service: 2, payload: Uint8Array.of(1), lifetimeMs: 60_000 }),
      await before.agent.send({ destination: ipn(9, 1), service: 2, payload: Uint8Array.of(2), lifetimeMs: 60_000 }),
    ];
    await closeStores();
    const after = await setup({ now, dir: before.dir, markPath: before.markPath });
    ids.push(await after.agent.send({ destination: ipn(9, 1), service: 2, payload: Uint8Array.of(3), lifetimeMs: 60_000 }));
    expect(new Set(ids).size).toBe(3);
    expect(after.store.list()).toHaveLength(3);
  });

  it('hands out increasing sequence numbers, and a restart starts above every number used before it', async () => {
    const path = markPath();
    const clock = CreationClock.persistent(path, () => T);
    const used: number[] = [];
    for (let i = 0; i < 40_000; i++) used.push(clock.stamp().sequence);
    // Past half the reserve the mark moves ahead between frames; then the numbers go on.
    await until(() => Number(readFileSync(path, 'utf8')) > 65_536, 'the mark to move ahead');
    for (let i = 0; i < 40_000; i++) used.push(clock.stamp().sequence);
    for (let i = 1; i < used.length; i++) expect(used[i]).toBe(used[i - 1]! + 1);
    const restarted = CreationClock.persistent(path, () => T);
    expect(restarted.stamp().sequence).toBeGreaterThan(used[used.length - 1]!);
    // The clock stepping back changes nothing: the sequence alone keeps the pairs apart.
    const stepped = restarted.stamp(T - 3_600_000);
    expect(stepped.sequence).toBeGreaterThan(used[used.length - 1]!);
  });

  it('refuses to stamp while the mark cannot be written, and stamps again once it can', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-creation-'));
    const path = join(dir, 'gone', 'creation.seq'); // its directory does not exist: every write fails
    const clock = CreationClock.persistent(path, () => T);
    expect(() => clock.stamp()).toThrow(CreationStampError);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'gone'));
    await until(() => {
      try {
        clock.stamp();
        return true;
      } catch (error) {
        expect(error).toBeInstanceOf(CreationStampError);
        return false;
      }
    }, 'the mark to be written');
    expect(Number(readFileSync(path, 'utf8'))).toBeGreaterThan(0);
  });

  it('refuses a mark file that holds something else', () => {
    const path = markPath();
    writeFileSync(path, 'not a number\n');
    expect(() => CreationClock.persistent(path)).toThrow(CreationMarkError);
  });

  it('ground tools start at a random sequence number', () => {
    const a = CreationClock.randomStart(() => T).stamp();
    const b = CreationClock.randomStart(() => T).stamp();
    expect(a.time).toBe(b.time);
    expect(a.sequence).not.toBe(b.sequence);
  });
});
