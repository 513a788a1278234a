// Acceptance of CGR across real node processes: a ground station (10) and three satellites in a
// chain (20, 21, 22), every link between them through the link emulator (gse/link-emulator.ts)
// in the test process, on a contact plan played at 40 plan seconds per real second. Satellite 22
// is two ISL hops from the only station. The links end each ISL contact 2 plan seconds before the
// plan the nodes hold says (a link lost early), so the contacts the echoes fill close with
// transfers under way. Bundles and a signed command cross only inside their contacts (the
// emulator's record of every TCPCL transfer that crossed, checked against the plan on plan time),
// none is lost when contacts close mid-transfer, and a bad plan uplinked by command leaves the
// node on its previous plan. The ground console (100) and the test's own TCPCL peer (101) are
// always in contact with the station.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpclSession } from '../../flight/cla/tcpcl-session.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { dtnNow, payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { MISSION_EPOCH_ENV } from '../../flight/route/config.js';
import { parsePlan } from '../../flight/route/plan-load.js';
import type { Contact } from '../../flight/route/plan.js';
import { LinkEmulator, type EmulatedLink, type EmulatorRecord } from '../../gse/link-emulator.js';
import { copyMissionWithFreePorts, freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { killAll, REPO, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';

const STATION = 10;
const SATS = [20, 21, 22] as const;
const CONSOLE = 100;
const PEER = 101;
const SCALE = 40;
const PERIOD = 20; // plan seconds between a link's windows
const ECHOES = 24;
const PAYLOAD = 20_000;
/**
 * Plan seconds the contacts go on for: 6 minutes at 40x, longer than the start-up and both tests'
 * timeouts together, so a slow start on a loaded machine cannot run a test past the plan's end,
 * where no contact would carry its command. With 2,400 (one real minute) a loaded CI run waited
 * 120 s for the first PING's response.
 */
const HORIZON = 15_000;

/** Contacts both ways for `a`-`b` over [offset + k PERIOD, offset + k PERIOD + length). */
function windows(a: number, b: number, offset: number, length: number, rate: number, until: number): ContactJson[] {
  const out: Array<{ from: number; to: number; start: number; end: number; rate: number; owlt: number }> = [];
  for (let t = offset; t < until; t += PERIOD) {
    out.push({ from: a, to: b, start: t, end: t + length, rate, owlt: 0.01 }, { from: b, to: a, start: t, end: t + length, rate, owlt: 0.01 });
  }
  return out;
}

interface ContactJson { from: number; to: number; start: number; end: number; rate: number; owlt: number }
/** Plan seconds by which the emulated ISLs end before the nodes' plan says. */
const EARLY = 2;
const planText = (islEarly: number): string => JSON.stringify({
  format: 'tern-contact-plan/1',
  contacts: [
    // The ground network: the console and the test's peer are always in contact with the station.
    ...windows(STATION, CONSOLE, 0, 100_000, 10_000_000, 1),
    ...windows(STATION, PEER, 0, 100_000, 10_000_000, 1),
    ...windows(STATION, 20, 0, 12, 400_000, HORIZON), // ground passes
    ...windows(20, 21, 6, 10 - islEarly, 20_000, HORIZON), // ISLs: 200 kB a window, less than the echoes need
    ...windows(21, 22, 10, 10 - islEarly, 20_000, HORIZON),
  ],
});
const PLAN_TEXT = planText(0);
/** What the nodes believe. */
const plan = parsePlan(PLAN_TEXT, { source: 'constellation', epochMs: 0 });
/** What the links do. */
const links = parsePlan(planText(EARLY), { source: 'links', epochMs: 0 });

let dir: string;
let emulator: LinkEmulator;
const records: EmulatorRecord[] = [];
let consoleProc: TernProcess;
const nodes: TernProcess[] = [];
let peer: GroundPeer;
let toStation: TcpclSession;
let stationPort: number;

type Line = Record<string, unknown>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-constellation-'));
  writeFileSync(join(dir, 'plan.json'), PLAN_TEXT);
  const made = await runTern(['gse', 'keygen', '--out', 'alice.key', '--id', '1', '--name', 'alice'], dir);
  expect(made.code, made.stderr).toBe(0);
  const port = new Map<number, number>();
  for (const n of [STATION, ...SATS, CONSOLE]) port.set(n, await freePort());
  stationPort = port.get(STATION)!;
  // Each node reaches each neighbour in the plan through its own emulated link.
  const neighbours: Array<[number, number]> = [[STATION, 20], [20, STATION], [20, 21], [21, 20], [21, 22], [22, 21]];
  const emulated: EmulatedLink[] = neighbours.map(([from, to]) => ({
    from, to, cla: 'tcp', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: port.get(to)! },
  }));
  // Plan time 0: now. The nodes take a few plan seconds to start; the first contacts may pass unused.
  const epochMs = Date.now();
  emulator = new LinkEmulator({ plan: links, epochMs, timeScale: SCALE, links: emulated, record: (r) => records.push(r) });
  await emulator.start();
  const via = new Map(emulator.addresses().map((a) => [`${a.from}>${a.to}`, a.port]));
  consoleProc = startTern(['gse', 'tlm', '--listen', `127.0.0.1:${port.get(CONSOLE)}`, '--node', String(CONSOLE)]);
  for (const id of [STATION, ...SATS]) {
    const mine = neighbours.filter(([from]) => from === id).map(([, to]): [number, ['tcp', number]] => [to, ['tcp', via.get(`${id}>${to}`)!]]);
    if (id === STATION) mine.push([CONSOLE, ['tcp', port.get(CONSOLE)!]]);
    const file = writeNodeConfig(dir, {
      id, port: port.get(id)!, neighbours: Object.fromEntries(mine),
      tlm: { downlink: { endpoint: `ipn:${CONSOLE}.2`, housekeepingEvery: 1000 } },
      ...(id === 22 ? {
        tasks: [['cmd.dispatch', 'cmd.sequence'], ['cmd.dispatch'], ['cmd.dispatch'], ['cmd.dispatch'], []],
        cmd: {
          approvals: 1, operators: [{ id: 1, name: 'alice', roles: ['operate', 'approve'], publicKeyFile: 'alice.key.pub.json' }],
          dispatch: { budgetUs: 3000, verificationsPerSlot: 1 }, sequence: { budgetUs: 500 },
        },
      } : {}),
    });
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config.contactPlan = { file: 'plan.json', epoch: 'mission-start', timeScale: SCALE };
    writeFileSync(file, JSON.stringify(config, null, 2));
    nodes.push(startTern(['flight', '--config', file], { [MISSION_EPOCH_ENV]: String(epochMs) }));
  }
  for (const node of nodes) await node.waitForLine((l) => l.msg === 'node started');
  peer = new GroundPeer(PEER);
  toStation = await peer.tcp.connect('127.0.0.1', stationPort, `ipn:${STATION}.0`);
}, 60_000);

afterAll(async () => {
  killAll([...nodes, consoleProc].filter(Boolean));
  await peer?.close();
  await emulator?.close();
});

/** Whether a contact from -> to of `contacts` is open at plan time t. */
const openIn = (contacts: readonly Contact[], from: number, to: number, t: number): boolean =>
  contacts.some((c) => c.from === from && c.to === to && c.start <= t && t < c.end);
/** Whether a contact from -> to of the nodes' plan is open at plan time t. */
const inContact = (from: number, to: number, t: number): boolean => openIn(plan.contacts, from, to, t);
/** Whether the nodes' plan promised a contact from -> to at t that the link had already ended. */
const lostEarly = (from: number, to: number, t: number): boolean => inContact(from, to, t) && !openIn(links.contacts, from, to, t);

describe('a constellation routed by CGR through the link emulator', () => {
  it('echoes from a satellite two ISL hops out: every bundle crosses inside its contacts, none lost when contacts close mid-transfer', async () => {
    for (let i = 0; i < ECHOES; i++) {
      const payload = new Uint8Array(PAYLOAD).fill(i);
      await toStation.send(createBundle({
        destination: ipn(22, 7), source: ipn(PEER, 7), creationTime: dtnNow(), sequence: i, lifetime: 600_000,
        blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
      }).bytes);
    }
    // A link cut after a transfer arrived but before its acknowledgement did makes the sender send
    // it again (at least once, as TCPCLv4 promises): an echo may come twice, none may be missing.
    const echoed = (): number[] => [...new Set(peer.received.map((r) => payloadBlock(decodeBundle(r.bytes)).data[0]!))].sort((a, b) => a - b);
    await until(() => echoed().length >= ECHOES, `${ECHOES} distinct echoes from node 22`, 120_000, 100);
    expect(echoed()).toEqual([...Array(ECHOES).keys()]);
    const crossed = records.filter((r): r is Extract<EmulatorRecord, { kind: 'crossed' }> => r.kind === 'crossed');
    for (const hop of ['10>20', '20>21', '21>22', '22>21', '21>20', '20>10']) {
      expect(crossed.filter((r) => `${r.from}>${r.to}` === hop).length, hop).toBeGreaterThan(0);
    }
    const outside = crossed.filter((r) => !inContact(r.from, r.to, r.planTime) || lostEarly(r.from, r.to, r.planTime));
    expect(outside).toEqual([]);
    // The echoes fill ISL contacts that end early: contacts closed with transfers under way.
    const cuts = records.filter((r): r is Extract<EmulatorRecord, { kind: 'cut' }> => r.kind === 'cut');
    expect(cuts.some((c) => c.transfersCut > 0)).toBe(true);
    // The nodes open sessions only inside contacts of their plan: the emulator refused none but
    // where that plan promised a contact the link had already lost.
    const refused = records.filter((r) => r.kind === 'refused');
    expect(refused.filter((r) => !lostEarly(r.from, r.to, r.planTime))).toEqual([]);
  }, 150_000);

  it('a signed command reaches satellite 22 over two ISL hops and its response comes back the same way; a bad plan by command leaves the old plan', async () => {
    const send = async (...args: string[]): Promise<string> => {
      const sent = await runTern(['gse', 'send', '22', ...args, '--key', 'alice.key', '--via', `127.0.0.1:${stationPort}`], dir);
      expect(sent.code, sent.stderr).toBe(0);
      return /digest ([0-9a-f]{16})/.exec(sent.stdout)![1]!;
    };
    const response = (digest: string): Promise<Line> =>
      consoleProc.waitForLine((l) => l.kind === 'rsp' && l.digest === digest && (l.status === 'executed' || l.status === 'failed'), 120_000);
    const ping = await response(await send('PING', '4242'));
    expect(ping).toMatchObject({ node: 22, status: 'executed', result: { token: 4242 } });
    writeFileSync(join(dir, 'bad-plan.json'), JSON.stringify({ format: 'tern-contact-plan/1', contacts: [{ from: 21, to: 22, start: 10, end: 5, rate: 1, owlt: 0 }] }));
    // The plan goes up as a file signed by the operator, then a command names its SHA-256.
    const uploaded = await runTern(['gse', 'upload', '--kind', 'plan', '--file', 'bad-plan.json', '--to', '22', '--key', 'alice.key', '--via', `127.0.0.1:${stationPort}`], dir);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const { sha256 } = JSON.parse(uploaded.stdout) as { sha256: string };
    await consoleProc.waitForLine((l) => l.kind === 'evt' && l.node === 22 && l.name === 'CMD_FILE_STORED' && (l.args as { sha256?: string } | undefined)?.sha256 === sha256, 120_000);
    // The node's own dictionary (written at start) names the route commands.
    const bad = await response(await send('ROUTE_PLAN_ACTIVATE', sha256, '--from', join(dir, 'data-22')));
    expect(bad).toMatchObject({ node: 22, status: 'failed' });
    expect(JSON.stringify(bad)).toContain('contacts[0] end');
    // Still on the old plan: the next command and its response cross the same contacts.
    expect(await response(await send('PING', '4343'))).toMatchObject({ node: 22, status: 'executed', result: { token: 4343 } });
    const crossed = records.filter((r): r is Extract<EmulatorRecord, { kind: 'crossed' }> => r.kind === 'crossed');
    expect(crossed.filter((r) => !inContact(r.from, r.to, r.planTime))).toEqual([]);
  }, 150_000);
});

describe('the constellation mission (flight/config/missions/constellation)', () => {
  it('runs 6 satellites in 2 planes, 2 stations and the console on its predicted plan at 60x; a command to a satellite crosses ISLs and its response comes back', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tern-constellation-mission-'));
    const missionDir = join(cwd, 'constellation');
    await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/constellation'), missionDir);
    const mission = startTern(['mission', '--dir', missionDir, '--raw'], {}, cwd);
    nodes.push(mission);
    const all = [10, 11, 20, 21, 22, 23, 24, 25];
    for (const node of all) await mission.waitForLine((l) => l.msg === 'node started' && l.node === node, 60_000);
    const station = (JSON.parse(readFileSync(join(missionDir, 'ground-10.json'), 'utf8')) as { cla: { tcp: { listen: string } } }).cla.tcp.listen;
    // Early in the plan satellite 22 is reached from station 10 through station 11 and an ISL from
    // satellite 25 (tern route query --from 10 --to 22 --at 10), or waits for a later contact.
    const sent = await runTern(['gse', 'send', '22', 'PING', '2222', '--key', join(missionDir, 'keys/demo-operator.key'), '--via', station], cwd);
    expect(sent.code, sent.stderr).toBe(0);
    const response = await mission.waitForLine((l) => l.kind === 'rsp' && l.node === 22 && l.status === 'executed', 120_000);
    expect(response).toMatchObject({ command: 'PING', result: { token: 2222 } });
    // Satellites handed bundles to satellites: ISL crossings, each in a plan contact.
    const isl = mission.lines.filter((l) => l.msg === 'bundle sent in contact' && (l.node as number) >= 20 && (l.nextHop as number) >= 20);
    expect(isl.length).toBeGreaterThan(0);
    mission.child.kill('SIGINT');
    expect(await mission.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
