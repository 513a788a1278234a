// SEU injection by command on a real node process (HIL benches): two operators sign ECC_INJECT
// (critical, k = 2) with `tern gse send`; the node flips bits in its own protected memory and
// must repair them on its own: a single-bit upset in the parameters is corrected, two bits in one
// word of the schedule tables and a burst in the operator key table reload those regions from
// their golden copies, a damaged TMR copy of the executive's state is outvoted. Commands keep
// working throughout (the keys that verify them were among the damage), the node stays in
// NOMINAL, and the counters are in its final housekeeping record.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, writeNodeConfig } from '../support/mission.js';
import { killAll, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { twoOperators } from '../support/operators.js';

const SAT = 20;
type Line = Record<string, unknown>;

let dir: string;
let port: number;
let sat: TernProcess;

/** The node's log line of event `name` matching `args`, the `nth` such (from 1). */
function event(name: string, args: Record<string, unknown> = {}, nth = 1): Promise<Line> {
  const match = (l: Line) => l.event === name && Object.entries(args).every(([k, v]) => l[k] === v);
  return sat.waitForLine((l) => match(l) && sat.lines.filter(match).indexOf(l) === nth - 1, 30_000);
}

async function command(...args: string[]): Promise<void> {
  const sent = await runTern(['gse', 'send', String(SAT), ...args, '--key', 'alice.key', '--key', 'bob.key', '--from', join(dir, `data-${SAT}`), '--via', `127.0.0.1:${port}`], dir);
  expect(sent.code, sent.stderr).toBe(0);
}

let injections = 0;
/** ECC_INJECT signed by both operators; resolves once the node has run it. */
async function inject(target: string, pattern: string, count: number, seed: number): Promise<void> {
  await command('ECC_INJECT', target, pattern, String(count), String(seed));
  await event('CMD_EXECUTED', { command: 'ECC_INJECT' }, ++injections);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-ecc-e2e-'));
  const cmd = await twoOperators(dir);
  port = await freePort();
  const file = writeNodeConfig(dir, {
    id: SAT, port, routes: {}, cmd,
    tasks: [['cmd.dispatch', 'cmd.sequence'], ['ecc.scrub'], ['cmd.dispatch'], ['ecc.scrub'], ['dtn.store.scrub']],
  });
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.ecc = { scrub: { budgetBytes: 4096, budgetUs: 2000 } };
  writeFileSync(file, JSON.stringify(config, null, 2));
  sat = startTern(['flight', '--config', file]);
  await sat.waitForLine((l) => l.msg === 'node started', 30_000);
}, 60_000);

afterAll(() => {
  killAll(sat ? [sat] : []);
});

describe('ECC_INJECT on a node process', () => {
  it('damages protected memory on k-of-n command; the node corrects, reloads and outvotes on its own', async () => {
    await inject('parameters', 'single', 1, 1);
    expect(await event('ECC_INJECTED', { target: 'parameters' })).toMatchObject({ pattern: 'single', count: 1, seed: 1 });

    // Read every frame by the executive: the reload comes at once.
    await inject('schedule', 'double', 1, 2);
    expect(await event('ECC_REGION_RELOADED', { region: 'schedule' })).toMatchObject({ uncommittedWritesLost: false });

    // Found by the scrubber or by the next signature check, whichever comes first.
    await inject('operator-keys', 'burst', 1, 3);
    await event('ECC_REGION_RELOADED', { region: 'operator-keys' });

    // Seed 7 hits the mode (cell 0). The frame counter is rewritten whole at the end of every
    // frame, so an upset landing in it while a task runs is overwritten before any vote sees it.
    await inject('tmr.exec', 'single', 1, 7);
    await event('ECC_TMR_CORRECTED', { cell: 'exec.mode' });

    // A target that does not exist fails the command, typed and named; the node runs on.
    await command('ECC_INJECT', 'no-such-region', 'single', '1', '5');
    expect(String((await event('CMD_FAILED', { command: 'ECC_INJECT' })).error)).toMatch(/target: expected one of parameters, operator-keys, schedule, tmr.cmd-replay, tmr.exec, or store\/<file>/);
    // Commands still verify after the key table was damaged and reloaded.
    await inject('tmr.cmd-replay', 'single', 1, 6);
    await event('ECC_TMR_CORRECTED', { cell: 'cmd-replay.op1' });

    sat.child.kill('SIGTERM');
    expect((await sat.exited).code).toBe(0);
    const hk = JSON.parse(readFileSync(join(dir, `data-${SAT}`, 'housekeeping.json'), 'utf8')) as { mode: string; channels: Record<string, number> };
    expect(hk.mode).toBe('NOMINAL');
    expect(hk.channels).toMatchObject({
      'ecc.region.parameters.corrected': 1,
      'ecc.region.parameters.reloads': 0,
      'ecc.region.schedule.reloads': 1,
      'ecc.region.operator-keys.reloads': 1,
      'ecc.region.operator-keys.lost': 0,
      'ecc.tmr.exec.corrected': 1,
      'ecc.tmr.exec.noMajority': 0,
      'ecc.tmr.cmd-replay.corrected': 1,
      'cmd.executed': 5,
      'cmd.failed': 1,
    });
    expect(hk.channels['ecc.scrub.passes']).toBeGreaterThan(0);
    // The store scrubber ran too (the store has no sealed segment yet: nothing to repair).
    expect(hk.channels['ecc.store.passes']).toBeGreaterThan(0);
    expect(hk.channels['ecc.store.unrepairable']).toBe(0);
    expect(hk.channels['ecc.protectedBytes']).toBeGreaterThan(16 * 1952);
  }, 120_000);
});
