// `tern gse console` and `tern gse export` as an operator runs them: refusals are one line and
// exit 2 before anything listens; the export writes what the archive holds.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPERVISOR_ENV } from '../../flight/main.js';
import { Archive, ARCHIVE_FILE } from '../../gse/console/archive.js';
import { killAll, runTern, startTern } from '../support/node-process.js';
import { hk } from './support.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'tern-console-cli-'));

describe('tern gse console / export', () => {
  it('refuses an address other than loopback without TLS and a users file', async () => {
    const r = await runTern(['gse', 'console', '--listen', '0.0.0.0:0', '--archive', join(tempDir(), 'a')], tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tern gse console: --listen 0.0.0.0:0 is not a loopback address: the console then needs TLS (--tls-cert, --tls-key) and a login (--users FILE)');
  });

  it('started by a mission launcher that is gone (its parent is no longer the launcher), stops in order by itself', async () => {
    const dir = tempDir();
    // Pid 1 is never this console's parent: to the console, its launcher has gone.
    const console_ = startTern(['gse', 'console', '--listen', '127.0.0.1:0', '--dtn', '127.0.0.1:0', '--archive', dir], { [SUPERVISOR_ENV]: '1' }, dir);
    try {
      await console_.waitForLine((l) => l.msg === 'console stopped');
      expect(await console_.exited).toEqual({ code: 0, signal: null });
    } finally {
      killAll([console_]);
    }
  });

  it('refuses a damaged archive in one line naming the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, ARCHIVE_FILE), Buffer.alloc(4096, 0x33));
    const r = await runTern(['gse', 'console', '--listen', '127.0.0.1:0', '--dtn', '127.0.0.1:0', '--archive', dir], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^tern gse console: archive ${join(dir, ARCHIVE_FILE)}: damaged \\(file is not a database\\)`, 'm'));
  });

  it('exports a channel over a time range as CSV, and events as NDJSON', async () => {
    const dir = tempDir();
    const a = new Archive(dir);
    a.store([hk(20, 1, { 'exec.frames': 5 })], Date.parse('2030-01-01T00:00:00Z'));
    a.store([hk(21, 1, { 'exec.frames': 6 })], Date.parse('2030-01-01T00:00:02Z'));
    a.close();
    const r = await runTern(['gse', 'export', '--archive', dir, '--from', '2030-01-01T00:00:00Z', '--to', '2030-01-01T00:00:01Z', '--channel', 'exec.frames'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('time,tMs,node,channel,value\r\n2030-01-01T00:00:00.000Z,1893456000000,20,exec.frames,5\r\n');
    const none = await runTern(['gse', 'export', '--archive', dir, '--events', '--format', 'ndjson', '--from', '0'], dir);
    expect([none.code, none.stdout]).toEqual([0, '']);
    const bad = await runTern(['gse', 'export', '--archive', dir, '--channel', 'x', '--from', 'yesterday'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from must be an ISO 8601 time or Unix milliseconds, got "yesterday"');
  });
});
