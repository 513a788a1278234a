import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMission, parseMission } from '../../flight/config/mission.js';
import { ConfigError } from '../../flight/errors.js';
import { ensureMissionDirCerts } from '../../gse/mission.js';

/** Every task a node without `cmd` has, in one slot of each mode. */
const NODE_SLOT = ['dtn.ingest', 'dtn.dispatch', 'dtn.store', 'tlm.housekeeping'];
const table = (slot: string[]) => ({ minorFrameMs: 10, slots: [slot] });
const execOf = (slot: string[], more: Record<string, unknown> = {}) =>
  ({ modes: { BOOT: table(slot), NOMINAL: table(slot), SAFE: table(slot) }, ...more });
const minimal = { node: { id: 5 }, exec: execOf(NODE_SLOT) };
const CMD = {
  approvals: 1,
  operators: [{ id: 1, roles: ['operate', 'approve'], publicKeyFile: 'flight/config/missions/local/keys/demo-operator.key.pub.json' }],
  dispatch: { budgetUs: 3000 },
};

function error(raw: unknown): ConfigError {
  try {
    parseMission('m.json', raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('accepted');
}

describe('mission config', () => {
  // The station's cla.tcp.tls names certificates tern mission makes on first start (git ignores them).
  beforeAll(() => ensureMissionDirCerts('flight/config/missions/local'));

  it('fills defaults: name, data directory under ./var, log level, summary rate', () => {
    const m = parseMission('m.json', minimal);
    expect(m.node).toEqual({ id: 5, name: 'tern-5' });
    expect(m.dataDir).toBe(resolve('var/node-5'));
    expect(m.log.level).toBe('info');
    expect(m.tlm.summaryEveryMajorFrames).toBe(10);
  });

  it.each([
    [{ exec: minimal.exec }, 'node', 'an object'],
    [{ node: { id: 0 }, exec: minimal.exec }, 'node.id', 'an integer in [1, 9007199254740991]'],
    [{ node: { id: 1.5 }, exec: minimal.exec }, 'node.id', 'an integer'],
    [{ node: { id: 1, callsign: 'x' }, exec: minimal.exec }, 'node.callsign', 'a known field (id, name)'],
    [{ node: { id: 1 } }, 'exec', 'an object with the schedule tables'],
    [{ ...minimal, dataDir: '' }, 'dataDir', 'a non-empty string'],
    [{ ...minimal, tlm: { summaryEveryMajorFrames: 0 } }, 'tlm.summaryEveryMajorFrames', 'an integer in [1, 1000000]'],
    [{ ...minimal, tlm: { downlink: { endpoint: 'dtn://ground/tlm' } } }, 'tlm.downlink.endpoint', 'an ipn EID'],
    [{ ...minimal, tlm: { downlink: { endpoint: 'ipn:100' } } }, 'tlm.downlink.endpoint', 'an ipn EID'],
    [{ ...minimal, tlm: { downlink: { endpoint: 'ipn:100.2', housekeepingEvery: 0 } } }, 'tlm.downlink.housekeepingEvery', 'an integer in [1, 1000000]'],
    [{ ...minimal, cmd: { approvals: 1, operators: [] } }, 'cmd.approvals', 'at most the number of operators with the approve role (0)'],
    [[], '', 'an object'],
    // The schedule tables are validated with the rest, against the tasks this config gives the node.
    [{ ...minimal, exec: { ...execOf(NODE_SLOT), modes: { ...execOf(NODE_SLOT).modes, NOMINAL: { minorFrameMs: '10', slots: [NODE_SLOT] } } } }, 'exec.modes.NOMINAL.minorFrameMs', 'a number'],
    [{ ...minimal, exec: execOf([...NODE_SLOT, 'nav.thrust']) }, 'exec.modes.BOOT.slots[0][4]', 'a known task (tlm.housekeeping, dtn.store, dtn.ingest, dtn.dispatch)'],
    [{ ...minimal, exec: { modes: { BOOT: table(NODE_SLOT), NOMINAL: table(NODE_SLOT) } } }, 'exec.modes.SAFE', 'a mode table'],
    [{ ...minimal, exec: execOf(['dtn.ingest', 'dtn.dispatch', 'tlm.housekeeping']) }, 'exec.tasks.dtn.store', 'a slot in some mode'],
    [{ ...minimal, cmd: CMD }, 'exec.tasks.cmd.dispatch', 'a slot in some mode'],
    [{ ...minimal, exec: execOf(NODE_SLOT, { tasks: { 'dtn.ingest': { criticality: 'vital' } } }) }, 'exec.tasks.dtn.ingest.criticality', 'one of critical, normal, low'],
    [{ ...minimal, exec: execOf(NODE_SLOT, { tasks: { 'cmd.dispatch': { criticality: 'critical' } } }) }, 'exec.tasks.cmd.dispatch', 'a known task'],
  ])('refuses %j at field %s', (raw, field, expected) => {
    const e = error(raw);
    expect(e.field).toBe(field);
    expect(e.expected).toContain(expected);
    expect(e.message.startsWith(`m.json: ${field}: expected `)).toBe(true);
  });

  it('reads the downlink settings, with defaults; without them and without cmd a node has neither', () => {
    const m = parseMission('m.json', { ...minimal, tlm: { downlink: { endpoint: 'ipn:100.2' } } });
    expect(m.tlm.downlink).toEqual({ endpoint: { scheme: 'ipn', node: 100, service: 2 }, housekeepingEvery: 10, lifetimeS: 3600 });
    const bare = parseMission('m.json', minimal);
    expect(bare.tlm.downlink).toBeUndefined();
    expect(bare.cmd).toBeUndefined();
  });

  it('names the file when it is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-mission-'));
    writeFileSync(join(dir, 'bad.json'), '{"node":');
    expect(() => loadMission(join(dir, 'bad.json'))).toThrow(/bad\.json: \(file\): expected valid JSON/);
    expect(() => loadMission(join(dir, 'nope.json'))).toThrow(/nope\.json: \(file\): expected a readable mission config file/);
  });

  it('takes a task\'s criticality from the config, else the task\'s own', () => {
    const m = parseMission('m.json', { ...minimal, exec: execOf(NODE_SLOT, { tasks: { 'dtn.ingest': { criticality: 'critical' }, 'tlm.housekeeping': { overrun: 'skip-next' } } }) });
    const of = (name: string) => m.exec.criticality[m.exec.tasks.findIndex((t) => t.name === name)];
    expect(of('dtn.ingest')).toBe('critical');
    expect(of('dtn.store')).toBe('low');
    expect(of('tlm.housekeeping')).toBe('normal');
  });

  it.each(['ground-10', 'sat-20', 'sat-21'])('loads %s of the local mission that npm start runs, its command and ingest tasks critical', (name) => {
    const m = loadMission(`flight/config/missions/local/${name}.json`);
    expect(m.node.name).toBe(name);
    const critical = m.exec.tasks.filter((_, i) => m.exec.criticality[i] === 'critical').map((t) => t.name);
    expect(critical.sort()).toEqual(['cmd.dispatch', 'dtn.ingest']);
  });
});
