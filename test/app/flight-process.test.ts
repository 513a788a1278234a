import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { notifySocket, type NotifySocket } from '../support/notify-socket.js';
import { startTern, type TernProcess } from '../support/node-process.js';

const slots = (n: number): string[][] => [...Array.from({ length: n - 1 }, () => []), ['tlm.housekeeping']];

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
afterEach(() => {
  if (node && node.child.exitCode === null) node.child.kill('SIGKILL');
  socket?.close();
});

describe('tern flight as a real process', () => {
  it('starts, logs NDJSON, runs frames, tells systemd it is ready, and exits 0 on SIGTERM with state flushed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-flight-'));
    socket = await notifySocket();
    node = startTern(['flight', '--config', mission(dir)], { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000' });
    const started = await node.waitForLine((l) => l.msg === 'node started');
    expect(started).toMatchObject({ level: 'info', node: 7, name: 'test-7', mode: 'BOOT' });
    await node.waitForLine((l) => l.event === 'EXEC_MODE_CHANGED' && l.to === 'NOMINAL');
    const health = await node.waitForLine((l) => l.msg === 'health' && l.mode === 'NOMINAL');
    expect(health).toMatchObject({ subsystem: 'tlm', slips: 0 });
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
    [{ warp: {} }, 'warp: expected a known field (node, dataDir, log, tlm, dtn, cla, routes, cmd, exec), got "warp"'],
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
