// `npm start` runs `tern mission`: the local mission of flight/config/missions/local, as a real
// process tree. It must come up (three nodes and the console), bring housekeeping from every
// satellite down to the console, execute commands signed with the mission's demo operator key
// as the README shows (sealed under BPSec session keys from the ground station on), and stop
// cleanly on Ctrl-C. It runs a copy of the mission on free ports, beside the mission's own ports
// held busy as a running `npm start` holds them.
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { copyMissionWithFreePorts } from '../support/mission.js';
import { REPO, startTern, TERN, type TernProcess } from '../support/node-process.js';

let mission: TernProcess | undefined;
const held: Array<Server | Socket> = [];
afterEach(() => {
  if (mission && mission.child.exitCode === null) mission.child.kill('SIGKILL');
  for (const h of held.splice(0)) h.close();
});

/** Binds TCP and UDP `port` on 127.0.0.1 as a running mission would; a port already bound (a
 *  real `npm start` beside the test) is busy anyway. */
async function holdPort(port: number): Promise<void> {
  const server = createServer();
  const socket = createSocket('udp4');
  await Promise.all([
    new Promise<void>((resolve) => server.once('error', () => resolve()).listen(port, '127.0.0.1', () => resolve())),
    new Promise<void>((resolve) => socket.once('error', () => resolve()).bind(port, '127.0.0.1', () => resolve())),
  ]);
  held.push(server, socket);
}

it('runs the local mission that npm start starts, and stops it cleanly on SIGINT', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-mission-')); // its var/ goes here
  // A copy of the mission with keys as a fresh clone has them (git keeps no modes): the launcher fixes them.
  const dir = join(cwd, 'local');
  const ports = await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  expect(ports.size).toBeGreaterThan(0);
  for (const port of ports.keys()) await holdPort(port);
  const station = (JSON.parse(readFileSync(join(dir, 'ground-10.json'), 'utf8')) as { cla: { tcp: { listen: string } } }).cla.tcp.listen;
  const key = join(dir, 'keys/demo-operator.key');
  for (const file of ['demo-operator.key', 'node-10.key', 'node-20.key', 'node-21.key']) chmodSync(join(dir, 'keys', file), 0o644);
  // --raw: every process's NDJSON on stdout, as this test reads it (a person gets the live view).
  mission = startTern(['mission', '--dir', dir, '--raw'], {}, cwd);
  for (const node of [10, 20, 21]) {
    await mission.waitForLine((l) => l.msg === 'node started' && l.node === node);
  }
  // The console prints downlinked housekeeping of each node, relayed through the station.
  for (const node of [10, 20, 21]) {
    await mission.waitForLine((l) => l.kind === 'hk' && l.node === node);
  }
  // The ground console is the web console: it says where its page is (the login link on stderr).
  expect(await mission.waitForLine((l) => l.msg === 'console listening')).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) });
  expect(mission.stderr.some((l) => /^console: tern gse console: open http:\/\/127\.0\.0\.1:\d+\/login\?token=\S+$/.test(l))).toBe(true);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  // The README's operator step, to each satellite: 21 is two hops out, through 20.
  for (const [node, token] of [[20, 42], [21, 43]] as const) {
    await promisify(execFile)(process.execPath, [TERN, 'gse', 'send', String(node), 'PING', String(token), '--key', key, '--via', station], { cwd: REPO });
    const response = await mission.waitForLine((l) => l.kind === 'rsp' && l.status === 'executed' && l.node === node);
    expect(response).toMatchObject({ command: 'PING', result: { token } });
  }
  // The station made a session with each satellite before it sent their commands on, and each
  // satellite one with the station, the console's gateway, for what it sends down.
  const rekeyed = (node: number, peer: number) => (l: Record<string, unknown>) =>
    l.kind === 'evt' && l.node === node && l.name === 'CMD_SESSION_REKEYED' && (l.args as { peer?: number; use?: string }).peer === peer && (l.args as { use?: string }).use === 'sealing';
  for (const [node, peer] of [[10, 20], [10, 21], [20, 10], [21, 10]] as const) await mission.waitForLine(rekeyed(node, peer));

  mission.child.kill('SIGINT');
  expect(await mission.exited).toEqual({ code: 0, signal: null });
  expect(mission.lines.filter((l) => l.msg === 'node stopped')).toHaveLength(3);
  expect(mission.stderr.filter((l) => l.includes('exited with'))).toEqual([]);
}, 180_000);

it('refuses a mission directory without a valid mission.json, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-mission-'));
  const run = (d: string) => promisify(execFile)(process.execPath, [TERN, 'mission', '--dir', d]).catch((e: { code: number; stderr: string }) => e);
  const missing = (await run(dir)) as { code: number; stderr: string };
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain(`${join(dir, 'mission.json')}: (file): expected a readable mission file`);
});
