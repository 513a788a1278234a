import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { notifySocket, type NotifySocket } from '../support/notify-socket.js';
import { REPO, startTern, type TernProcess } from '../support/node-process.js';

/** n minor frames; every task of a node without `cmd` runs in the last one. */
const slots = (n: number): string[][] => [...Array.from({ length: n - 1 }, () => []), ['dtn.ingest', 'dtn.dispatch', 'dtn.store', 'tlm.housekeeping']];
const KEYS = resolve(REPO, 'flight/config/missions/local/keys');

/**
 * A `cmd` section with a BPSec session, so a node that got as far as building commanding would
 * hold a worker thread: the identity key is copied owner-only, as tern mission leaves it.
 */
function commanding(dir: string, identityKeyFile = join(dir, 'node-20.key')): Record<string, unknown> {
  copyFileSync(join(KEYS, 'node-20.key'), join(dir, 'node-20.key'));
  chmodSync(join(dir, 'node-20.key'), 0o600);
  return {
    approvals: 1,
    operators: [{ id: 1, roles: ['operate', 'approve'], publicKeyFile: join(KEYS, 'demo-operator.key.pub.json') }],
    dispatch: { budgetUs: 3000 },
    sequence: { budgetUs: 500 },
    session: { identityKeyFile, peers: [{ node: 10, publicKeyFile: join(KEYS, 'node-10.key.pub.json') }] },
  };
}
const CMD_SLOT = ['dtn.ingest', 'dtn.dispatch', 'dtn.store', 'tlm.housekeeping', 'cmd.dispatch', 'cmd.sequence'];
const cmdTable = { minorFrameMs: 20, slots: [CMD_SLOT] };
const withoutSequence = { minorFrameMs: 20, slots: [CMD_SLOT.slice(0, -1)] };

function mission(dir: string, overrides: Record<string, unknown> = {}): string {
  const config = {
    node: { id: 7, name: 'test-7' },
    dataDir: join(dir, 'data'),
    log: { level: 'info' },
    tlm: { summaryEveryMajorFrames: 2 },
    exec: {
      modes: {
        BOOT: { minorFrameMs: 10, slots: slots(5) },
        NOMINAL: { minorFrameMs: 10, slots: slots(10) },
        SAFE: { minorFrameMs: 50, slots: slots(2) },
      },
    },
    ...overrides,
  };
  const file = join(dir, 'mission.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

let node: TernProcess | undefined;
let socket: NotifySocket | undefined;
let server: Server | undefined;
afterEach(() => {
  if (node && node.child.exitCode === null) node.child.kill('SIGKILL');
  socket?.close();
  server?.close();
});

/** A TCP port this test holds, as another process would. */
function occupiedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
  });
}

/** One line on stderr naming what was wrong, no stack trace, and a non-zero exit. */
async function refused(process: TernProcess): Promise<{ code: number | null; stderr: string }> {
  const { code } = await process.exited;
  const stderr = process.stderr.join('\n');
  expect(process.stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return { code, stderr };
}

describe('tern flight as a real process', () => {
  it('starts, logs NDJSON, runs frames, tells systemd it is ready, and exits 0 on SIGTERM with state flushed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    socket = await notifySocket();
    node = startTern(['flight', '--config', mission(dir)], { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000' });
    const started = await node.waitForLine((l) => l.msg === 'node started');
    expect(started).toMatchObject({ level: 'info', node: 7, name: 'test-7', mode: 'BOOT' });
    await node.waitForLine((l) => l.event === 'EXEC_MODE_CHANGED' && l.to === 'NOMINAL');
    const health = await node.waitForLine((l) => l.msg === 'health' && l.mode === 'NOMINAL');
    expect(health).toMatchObject({ subsystem: 'tlm' });
    await socket.waitFor('READY=1');
    await socket.waitFor('WATCHDOG=1', 2);

    node.child.kill('SIGTERM');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    await socket.waitFor('STOPPING=1');
    const stopped = node.lines.find((l) => l.msg === 'node stopped')!;
    expect(stopped.frames).toBeGreaterThan(10);
    const flushed = JSON.parse(readFileSync(join(dir, 'data', 'housekeeping.json'), 'utf8'));
    expect(flushed).toMatchObject({ node: 7, mode: 'NOMINAL' });
    expect(flushed.channels['exec.frames']).toBeGreaterThan(10);
    // Every line carries the node number and a subsystem or is the node's own.
    expect(node.lines.every((l) => l.node === 7)).toBe(true);
  });

  it('exits 0 on SIGINT (Ctrl-C) too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    node = startTern(['flight', '--config', mission(dir)]);
    await node.waitForLine((l) => l.msg === 'node started');
    node.child.kill('SIGINT');
    expect((await node.exited).code).toBe(0);
  });

  it.each([
    [{ node: { id: 'seven' } }, 'node.id: expected an integer'],
    [
      { exec: { modes: { BOOT: { minorFrameMs: 10, slots: [['nav.thrust']] }, NOMINAL: { minorFrameMs: 10, slots: [[]] }, SAFE: { minorFrameMs: 10, slots: [[]] } } } },
      'exec.modes.BOOT.slots[0][0]: expected a known task',
    ],
    [{ log: { level: 'loud' } }, 'log.level: expected one of trace, debug, info, warn, error, fatal, silent'],
    [{ warp: {} }, 'warp: expected a known field ($schema, node, dataDir, log, tlm, dtn, cla, routes, contactPlan, cmd, ecc, infer, exec), got "warp"'],
    [{ tlm: 3 }, 'tlm: expected an object'],
  ])('refuses a broken config %j with a message naming the field and a non-zero exit', async (overrides, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    const file = mission(dir, overrides);
    node = startTern(['flight', '--config', file]);
    const { code } = await node.exited;
    expect(code).toBe(2);
    expect(node.stderr.join('\n')).toContain(`tern flight: ${file}: `);
    expect(node.stderr.join('\n')).toContain(message);
  });

  it.each([
    ['minorFrameMs "10"', { BOOT: cmdTable, NOMINAL: { minorFrameMs: '10', slots: [CMD_SLOT] }, SAFE: cmdTable }, 'exec.modes.NOMINAL.minorFrameMs: expected a number'],
    ['an unknown task', { BOOT: cmdTable, NOMINAL: { minorFrameMs: 20, slots: [[...CMD_SLOT, 'nav.thrust']] }, SAFE: cmdTable }, 'exec.modes.NOMINAL.slots[0][6]: expected a known task'],
    ['no SAFE mode', { BOOT: cmdTable, NOMINAL: cmdTable }, 'exec.modes.SAFE: expected a mode table'],
    ['a task no slot lists', { BOOT: withoutSequence, NOMINAL: withoutSequence, SAFE: withoutSequence }, 'exec.tasks.cmd.sequence: expected a slot in some mode'],
  ])('refuses a node with commanding and %s in exec before building anything: exit 2, no hang', async (_, modes, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    const file = mission(dir, { cmd: commanding(dir), exec: { modes } });
    node = startTern(['flight', '--config', file]);
    const { code, stderr } = await refused(node);
    expect(code).toBe(2);
    expect(stderr.startsWith(`tern flight: ${file}: ${message}`)).toBe(true);
    // Nothing was built: not even the data directory.
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('refuses a listen port another process holds: one line naming the field and the port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    const port = await occupiedPort();
    const file = mission(dir, { cmd: commanding(dir), exec: { modes: { BOOT: cmdTable, NOMINAL: cmdTable, SAFE: cmdTable } }, cla: { tcp: { listen: `127.0.0.1:${port}` } } });
    node = startTern(['flight', '--config', file]);
    const { code, stderr } = await refused(node);
    expect(code).toBe(2);
    expect(stderr).toBe(`tern flight: ${file}: cla.tcp.listen: expected an address this node may listen on, got "127.0.0.1:${port} (EADDRINUSE)"`);
  });

  it('refuses a missing identity key file: one line with its whole path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    const missing = join(dir, 'a-directory-with-a-long-name-for-keys', 'node-20-identity-that-is-not-there.key');
    const file = mission(dir, { cmd: commanding(dir, missing), exec: { modes: { BOOT: cmdTable, NOMINAL: cmdTable, SAFE: cmdTable } } });
    node = startTern(['flight', '--config', file]);
    const { code, stderr } = await refused(node);
    expect(code).toBe(2);
    expect(stderr).toBe(`tern flight: ${missing}: (file): expected a readable tern-key file (tern gse keygen writes one), got "ENOENT: no such file or directory"`);
  });

  it('refuses a config that is not JSON or does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "node": ');
    node = startTern(['flight', '--config', file]);
    expect((await node.exited).code).toBe(2);
    expect(node.stderr.join('\n')).toMatch(/broken\.json: \(file\): expected valid JSON/);
    node = startTern(['flight', '--config', join(dir, 'missing.json')]);
    expect((await node.exited).code).toBe(2);
    expect(node.stderr.join('\n')).toContain('expected a readable mission config file');
  });
});
