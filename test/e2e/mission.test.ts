// `npm start` runs `tern mission`: the constellation mission of flight/config/missions/constellation
// (stations 10 and 11, satellites 20-25 in two planes, the web console, on a predicted plan at
// 60x), as a real process tree. It must come up (every node, with its triage model on the
// satellites, and the console), bring housekeeping from every node down to the console, execute a
// command signed with the mission's demo operator key as the README shows, to a satellite the
// station may not see (carried over ISLs or held for a contact), and stop cleanly on Ctrl-C. It
// runs a copy of the mission on free ports, beside the mission's own ports held busy as a running
// `npm start` holds them.
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { copyMissionWithFreePorts, GroundPeer } from '../support/mission.js';
import { REPO, startTern, TERN, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';

const SATELLITES = [20, 21, 22, 23, 24, 25];
const NODES = [10, 11, ...SATELLITES];

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

it('runs the constellation mission that npm start starts, and stops it cleanly on SIGINT', async () => {
  const source = join(REPO, 'flight/config/missions/constellation');
  const cwd = mkdtempSync(join(tmpdir(), 'tern-mission-')); // its var/ goes here
  // A copy of the mission where `tern mission` without --dir looks for it from its working
  // directory, with keys as a fresh clone has them (git keeps no modes): the launcher fixes them.
  const dir = join(cwd, 'flight/config/missions/constellation');
  const ports = await copyMissionWithFreePorts(source, dir);
  expect(ports.size).toBeGreaterThan(0);
  for (const port of ports.keys()) await holdPort(port);
  const config = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cla: { tcp: { listen: string } } };
  const station = config('ground-10.json').cla.tcp.listen;
  const key = join(dir, 'keys/demo-operator.key');
  chmodSync(key, 0o644);
  // --raw: every process's NDJSON on stdout, as this test reads it (a person gets the live view).
  mission = startTern(['mission', '--raw'], {}, cwd);
  for (const node of NODES) await mission.waitForLine((l) => l.msg === 'node started' && l.node === node, 60_000);
  for (const node of SATELLITES) await mission.waitForLine((l) => l.event === 'INFER_MODEL_ACTIVATED' && l.node === node);
  // The console prints downlinked housekeeping of each node, relayed through a station.
  for (const node of NODES) await mission.waitForLine((l) => l.kind === 'hk' && l.node === node, 60_000);
  // The ground console is the web console: it says where its page is (the login link on stderr).
  expect(await mission.waitForLine((l) => l.msg === 'console listening')).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) });
  expect(mission.stderr.some((l) => /^console: tern gse console: open http:\/\/127\.0\.0\.1:\d+\/login\?token=\S+$/.test(l))).toBe(true);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  // The README's operator step: satellite 22 is reached over ISLs, or when a contact opens.
  await promisify(execFile)(process.execPath, [TERN, 'gse', 'send', '22', 'PING', '7', '--key', key, '--via', station], { cwd: REPO });
  const response = await mission.waitForLine((l) => l.kind === 'rsp' && l.status === 'executed' && l.node === 22, 120_000);
  expect(response).toMatchObject({ command: 'PING', result: { token: 7 } });

  mission.child.kill('SIGINT');
  expect(await mission.exited).toEqual({ code: 0, signal: null });
  expect(mission.lines.filter((l) => l.msg === 'node stopped')).toHaveLength(NODES.length);
  expect(mission.stderr.filter((l) => l.includes('exited with'))).toEqual([]);
}, 300_000);

it('refuses a mission directory without a valid mission.json, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-mission-'));
  const run = (d: string) => promisify(execFile)(process.execPath, [TERN, 'mission', '--dir', d]).catch((e: { code: number; stderr: string }) => e);
  const missing = (await run(dir)) as { code: number; stderr: string };
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain(`${join(dir, 'mission.json')}: (file): expected a readable mission file`);
});

it('a launcher killed outright leaves no process behind: each node and the console see it gone and stop in order', async () => {
  // The smaller local mission: three nodes and the console.
  const dir = mkdtempSync(join(tmpdir(), 'tern-orphans-'));
  await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  mission = startTern(['mission', '--raw', '--dir', dir], {}, dir);
  for (const node of [10, 20, 21]) await mission.waitForLine((l) => l.msg === 'node started' && l.node === node, 60_000);
  await mission.waitForLine((l) => l.msg === 'console listening', 60_000);
  // The nodes' and the console's processes: their command lines name this mission's directory.
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return (cmdline.includes('flight\0--config') || cmdline.includes('gse\0console')) && cmdline.includes(dir);
    } catch {
      return false; // gone meanwhile
    }
  });
  expect(pids).toHaveLength(4);
  mission.child.kill('SIGKILL');
  await mission.exited;
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until(() => pids.every((pid) => !alive(pid)), 'every node and the console of the killed launcher to stop');
}, 120_000);

it('runs the local mission\'s ground network under TLS: certificates made on first start, the console\'s node with its station inside TLS, a plain session as the console refused', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-mission-tls-'));
  const dir = join(cwd, 'local');
  await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  const certs = join(dir, 'certs');
  rmSync(certs, { recursive: true, force: true }); // as on a fresh clone: git ignores certs/
  const station = (JSON.parse(readFileSync(join(dir, 'ground-10.json'), 'utf8')) as { cla: { tcp: { listen: string } } }).cla.tcp.listen;
  mission = startTern(['mission', '--raw', '--dir', 'local'], {}, cwd);
  for (const node of [10, 20, 21]) await mission.waitForLine((l) => l.msg === 'node started' && l.node === node, 60_000);
  // A mission CA and a certificate for the station and for the console's node, keys owner-only.
  for (const file of ['ca.crt', 'node-10.crt', 'node-100.crt']) expect(readdirSync(certs)).toContain(file);
  for (const key of ['ca.key', 'node-10.key', 'node-100.key']) expect(statSync(join(certs, key)).mode & 0o777).toBe(0o600);
  expect(new X509Certificate(readFileSync(join(certs, 'node-100.crt'))).subjectAltName).toBe('URI:ipn:100.0');
  // The station's session with the console's node runs inside TLS; its satellite's runs plain.
  await mission.waitForLine((l) => l.event === 'CLA_TCP_SESSION_UP' && l.node === 10 && l.nodeId === 'ipn:100.0' && l.tls === true, 60_000);
  await mission.waitForLine((l) => l.event === 'CLA_TCP_SESSION_UP' && l.node === 10 && l.nodeId === 'ipn:20.0' && l.tls === false);
  expect(mission.lines.some((l) => l.event === 'CLA_TCP_SESSION_UP' && l.nodeId === 'ipn:100.0' && l.tls !== true)).toBe(false);
  // Housekeeping comes down to the console over it.
  await mission.waitForLine((l) => l.kind === 'hk' && l.node === 10, 60_000);
  // A plain TCPCL session announcing the console's node is refused by the station, and counted.
  const impostor = new GroundPeer(100);
  try {
    const [host, port] = [station.slice(0, station.lastIndexOf(':')), Number(station.slice(station.lastIndexOf(':') + 1))];
    await expect(impostor.tcp.connect(host, port, 'ipn:10.0')).rejects.toThrow();
  } finally {
    await impostor.close();
  }
  await mission.waitForLine((l) => l.event === 'CLA_TCP_PROTOCOL_ERROR' && l.node === 10 && l.code === 'TCPCL_TLS_REQUIRED');
  // tern gse send still reaches the station (plain: the command is signed by its operator).
  await promisify(execFile)(process.execPath, [TERN, 'gse', 'send', '20', 'PING', '16', '--key', join(dir, 'keys/demo-operator.key'), '--via', station], { cwd: REPO });
  await mission.waitForLine((l) => l.kind === 'rsp' && l.status === 'executed' && l.node === 20, 60_000);
  mission.child.kill('SIGINT');
  expect(await mission.exited).toEqual({ code: 0, signal: null });
  // A second start keeps the certificates it made.
  const made = statSync(join(certs, 'node-10.crt')).mtimeMs;
  const again = startTern(['mission', '--raw', '--dir', 'local'], {}, cwd);
  mission = again;
  await again.waitForLine((l) => l.event === 'CLA_TCP_SESSION_UP' && l.node === 10 && l.nodeId === 'ipn:100.0' && l.tls === true, 60_000);
  expect(statSync(join(certs, 'node-10.crt')).mtimeMs).toBe(made);
  again.child.kill('SIGINT');
  expect(await again.exited).toEqual({ code: 0, signal: null });
}, 240_000);
