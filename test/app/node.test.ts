// A node built in-process from a mission config: start-up order and the commands the
// composition root binds.
import { chmodSync, copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlightNode } from '../../flight/app.js';
import { REPO } from '../support/node-process.js';

// The built node (after `npm run build`), as a process runs it: its handshake worker is a real
// worker thread, which only the built code can start.
const { FlightNode: Node } = (await import(`${REPO}dist/flight/app.js`)) as typeof import('../../flight/app.js');
const { parseMission } = (await import(`${REPO}dist/flight/config/mission.js`)) as typeof import('../../flight/config/mission.js');
const { createRootLogger } = (await import(`${REPO}dist/flight/log.js`)) as typeof import('../../flight/log.js');
const { TLM_COMMANDS, TLM_EVENTS } = (await import(`${REPO}dist/flight/tlm/dictionary.js`)) as typeof import('../../flight/tlm/dictionary.js');

const KEYS = resolve(REPO, 'flight/config/missions/local/keys');
const SLOT = ['dtn.ingest', 'dtn.dispatch', 'dtn.store', 'tlm.housekeeping', 'cmd.dispatch', 'cmd.sequence'];
const table = { minorFrameMs: 20, slots: [SLOT] };

/** A node with commanding and a BPSec session (so a handshake worker), no links. */
function config(dir: string) {
  copyFileSync(join(KEYS, 'node-20.key'), join(dir, 'node-20.key'));
  chmodSync(join(dir, 'node-20.key'), 0o600);
  return parseMission(join(dir, 'mission.json'), {
    node: { id: 20 },
    dataDir: join(dir, 'data'),
    cmd: {
      approvals: 1,
      operators: [{ id: 1, roles: ['operate', 'approve'], publicKeyFile: join(KEYS, 'demo-operator.key.pub.json') }],
      dispatch: { budgetUs: 3000 },
      sequence: { budgetUs: 500 },
      session: { identityKeyFile: join(dir, 'node-20.key'), peers: [{ node: 10, publicKeyFile: join(KEYS, 'node-10.key.pub.json') }] },
    },
    exec: { modes: { BOOT: table, NOMINAL: table, SAFE: table } },
  });
}

let node: FlightNode | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe('flight node start-up', () => {
  it('finishes start-up before frame 0: t0 is taken after every component answered its first ping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-node-'));
    node = await Node.start({ config: config(dir), log: createRootLogger({ level: 'silent' }) });
    // start() resolves before any frame has run; the first frame's deadline is t0.
    expect(node.tlm.get('exec.frames')!.value).toBe(0);
    const t0 = node.exec.nextDeadlineUs();
    expect(node.health.components.sort()).toEqual(['cmd.session.worker', 'dtn.store.flush']);
    for (const name of node.health.components) {
      const answered = node.health.answeredUs(name);
      expect(answered, `${name} answered before frame 0`).toBeDefined();
      expect(answered!).toBeLessThan(t0);
    }
  });
});

describe('CLEAR_EVENT_THROTTLES', () => {
  it('is in the ground dictionary and re-arms every event throttle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-node-'));
    node = await Node.start({ config: config(dir), log: createRootLogger({ level: 'silent' }) });
    const dictionary = JSON.parse(readFileSync(join(dir, 'data', 'dictionary.json'), 'utf8')) as { commands: Array<{ name: string; opcode: number }> };
    expect(dictionary.commands).toContainEqual(expect.objectContaining({ name: 'CLEAR_EVENT_THROTTLES', opcode: 0x0201 }));

    const event = TLM_EVENTS.downlinkFailed;
    for (let i = 0; i < 8; i++) node.events.emit(event, { items: 1, error: 'test' });
    expect(node.events.suppressed(event)).toBe(3);
    const command = node.commanding!.registry.lookup(TLM_COMMANDS.clearThrottles.opcode)!;
    const result = command.binding.handler({}, { operator: 1, approvers: [1], source: 'ground', nowMs: Date.now() });
    expect(result).toEqual({ rearmed: 1 });
    expect(node.events.suppressed(event)).toBe(0);
    expect(node.events.emit(event, { items: 1, error: 'test' })).toBe(true);
  });
});
