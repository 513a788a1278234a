// The console's archive on real files: what is stored comes back by channel and time range,
// survives a reopen and a SIGKILL of the writing process, expires by retention, exports as CSV
// and NDJSON; a damaged or full database is a typed error and loses nothing already stored.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Archive, ArchiveError, ARCHIVE_FILE } from '../../gse/console/archive.js';
import { exportLines } from '../../gse/console/export.js';
import { REPO } from '../support/node-process.js';
import { eventually } from '../support/wait.js';
import { evt, hk, rsp, wideHk } from './support.js';

const open: Archive[] = [];
afterEach(() => {
  for (const a of open.splice(0)) a.close();
});
const archiveIn = (dir: string, options = {}): Archive => {
  const a = new Archive(dir, options);
  open.push(a);
  return a;
};
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'tern-archive-'));
const ALL = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER };

describe('archive', () => {
  it('stores housekeeping, events and responses, and returns a channel over a time range, per node', () => {
    const dir = tempDir();
    const a = archiveIn(dir);
    a.store([hk(20, 1, { 'exec.frames': 10, 'cmd.executed': 0 }), hk(21, 1, { 'exec.frames': 11 })], 1000);
    a.store([hk(20, 2, { 'exec.frames': 20, 'cmd.executed': 1 }), evt(20, 'CMD_EXECUTED', 'activity', 'PING executed')], 2000);
    a.store([hk(20, 3, { 'exec.frames': 30 }), rsp(20, 'PING', 'executed', 'abcd', { token: 42 })], 3000);
    expect(a.samples('exec.frames', ALL).map((s) => [s.tMs, s.node, s.value])).toEqual([[1000, 20, 10], [1000, 21, 11], [2000, 20, 20], [3000, 20, 30]]);
    expect(a.samples('exec.frames', { fromMs: 1500, toMs: 3000 }, 20).map((s) => s.value)).toEqual([20, 30]);
    expect(a.samples('no.such.channel', ALL)).toEqual([]);
    expect(a.channels()).toEqual(['cmd.executed', 'exec.frames']);
    expect(a.housekeeping(ALL).map((h) => [h.node, h.seq, h.mode])).toEqual([[20, 1, 'NOMINAL'], [21, 1, 'NOMINAL'], [20, 2, 'NOMINAL'], [20, 3, 'NOMINAL']]);
    expect(a.responses(ALL)[0]!.record).toMatchObject({ command: 'PING', status: 'executed', result: { token: 42 } });
    a.close();
    open.splice(0);
    const again = archiveIn(dir);
    expect(again.counts()).toEqual({ hk: 4, sample: 6, event: 1, command: 0, response: 1 });
    expect(again.samples('cmd.executed', ALL).map((s) => s.value)).toEqual([0, 1]);
  });

  it('filters events by node, severity and text (any case, in the name or the message)', () => {
    const a = archiveIn(tempDir());
    a.store([
      evt(20, 'CMD_EXECUTED', 'activity', 'PING from operator 1 executed'),
      evt(21, 'CMD_REJECTED', 'warning', 'Command rejected (CMD_REPLAY)'),
      evt(20, 'STORE_FULL', 'error', 'store full'),
    ], 1000);
    expect(a.events(ALL, { node: 20 }).map((e) => e.name)).toEqual(['CMD_EXECUTED', 'STORE_FULL']);
    expect(a.events(ALL, { severity: 'warning' }).map((e) => e.name)).toEqual(['CMD_REJECTED']);
    expect(a.events(ALL, { text: 'ping' }).map((e) => e.name)).toEqual(['CMD_EXECUTED']);
    expect(a.events(ALL, { text: 'store_' }).map((e) => e.name)).toEqual(['STORE_FULL']);
    expect(a.events(ALL, {}, 2).map((e) => e.name)).toEqual(['CMD_REJECTED', 'STORE_FULL']);
  });

  it('records each command sent with who sent it', () => {
    const a = archiveIn(tempDir());
    a.recordCommand({ tMs: 5, node: 20, command: 'PING', opcode: 0x502, args: { token: 7 }, operator: 1, seq: 3, digest: 'ab', signatures: 1, sentBy: 'alice (operator 1)', outcome: 'sent', envelope: new Uint8Array([1, 2]) });
    expect(a.commands(ALL)).toEqual([expect.objectContaining({ command: 'PING', args: { token: 7 }, sentBy: 'alice (operator 1)', outcome: 'sent' })]);
  });

  it('deletes rows older than the retention, in bounded steps', () => {
    const a = archiveIn(tempDir(), { retentionDays: 1 });
    const day = 86_400_000;
    for (let i = 0; i < 12; i++) a.store([wideHk(20, i, 3), evt(20, 'E', 'activity', `e${i}`)], i * day / 4);
    const now = 3 * day;
    let total = 0;
    for (let n = a.expire(now); n > 0; n = a.expire(now)) total += n;
    // Kept: t >= 2 days, i.e. i = 8..11 (4 records, 12 samples, 4 events).
    expect(a.counts()).toMatchObject({ hk: 4, sample: 12, event: 4 });
    expect(total).toBe(8 + 24 + 8);
    expect(a.samples('ch.0', ALL)[0]!.tMs).toBe(2 * day);
  });

  it('a damaged file is ARCHIVE_CORRUPT, naming the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, ARCHIVE_FILE), Buffer.alloc(8192, 0x5a));
    const error = (() => {
      try {
        archiveIn(dir);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ArchiveError);
    expect(error).toMatchObject({ code: 'ARCHIVE_CORRUPT' });
    expect((error as Error).message).toContain(join(dir, ARCHIVE_FILE));
  });

  it('a full database is ARCHIVE_FULL: the bundle is not stored, what was stored stays, reads go on', () => {
    const a = archiveIn(tempDir(), { maxPages: 40 });
    let stored = 0;
    let error: unknown;
    for (let seq = 0; error === undefined && seq < 10_000; seq++) {
      try {
        a.store([wideHk(20, seq, 40)], seq);
        stored++;
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(ArchiveError);
    expect(error).toMatchObject({ code: 'ARCHIVE_FULL' });
    expect(a.counts().hk).toBe(stored);
    expect(a.samples('ch.0', ALL)).toHaveLength(stored);
    expect(() => a.store([wideHk(20, 99_999, 40)], 99_999)).toThrow(/full/);
    expect(a.counts().hk).toBe(stored);
  });

  it('exports samples and events as CSV (quoted where needed) and NDJSON', () => {
    const a = archiveIn(tempDir());
    a.store([hk(20, 1, { 'exec.frames': 10 }), evt(20, 'CMD_REJECTED', 'warning', 'rejected, "badly"')], Date.parse('2030-01-01T00:00:00Z'));
    a.store([hk(20, 2, { 'exec.frames': 20 })], Date.parse('2030-01-01T00:00:01Z'));
    const range = { fromMs: Date.parse('2030-01-01T00:00:00Z'), toMs: Date.parse('2030-01-01T00:00:00.500Z') };
    expect([...exportLines(a, { kind: 'samples', channels: ['exec.frames'], range, format: 'csv' })].join('')).toBe(
      'time,tMs,node,channel,value\r\n2030-01-01T00:00:00.000Z,1893456000000,20,exec.frames,10\r\n',
    );
    const events = [...exportLines(a, { kind: 'events', range: ALL, format: 'csv' })].join('');
    expect(events).toContain(',20,warning,CMD_REJECTED,1280,"rejected, ""badly""",');
    const ndjson = [...exportLines(a, { kind: 'samples', channels: ['exec.frames'], range: ALL, format: 'ndjson' })].map((l) => JSON.parse(l) as unknown);
    expect(ndjson).toEqual([expect.objectContaining({ node: 20, value: 10 }), expect.objectContaining({ value: 20, time: '2030-01-01T00:00:01.000Z' })]);
  });

  it('loses nothing it acknowledged storing when the writing process is killed with SIGKILL', async () => {
    const dir = tempDir();
    // A child process stores records one bundle at a time and says so after each store() returns.
    const script = `
      const { Archive } = await import(${JSON.stringify(join(REPO, 'dist/gse/console/archive.js'))});
      const a = new Archive(${JSON.stringify(dir)});
      for (let seq = 0; ; seq++) {
        a.store([{ kind: 'hk', record: { node: 20, seq, frame: seq, mode: 'NOMINAL', channels: { 'exec.frames': seq, 'cmd.executed': seq } } }], seq);
        process.stdout.write(seq + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = -1;
    createInterface({ input: child.stdout }).on('line', (line) => (acknowledged = Number(line)));
    await eventually(() => (acknowledged >= 200 ? true : undefined), '200 records stored by the child');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const a = archiveIn(dir);
    const frames = a.samples('exec.frames', ALL).map((s) => s.value);
    expect(frames.length).toBeGreaterThanOrEqual(acknowledged + 1);
    expect(frames.slice(0, acknowledged + 1)).toEqual(Array.from({ length: acknowledged + 1 }, (_, i) => i));
    expect(a.samples('cmd.executed', ALL)).toHaveLength(frames.length);
  });
});
