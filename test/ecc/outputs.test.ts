// A node's outputs under SEU injection: commanding with its state in protected memory (parameters,
// operator keys, replay heads), the executive running the dispatcher, the sequencer and the
// scrubber from protected slot lists and TMR mode and frame counter, on the virtual clock, while
// a seeded injector flips bits in every protected target between frames. The command responses
// (accepted, executed with their results, refused replays) must be those of the same run without
// upsets, byte for byte, and the node must stay in NOMINAL.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setModeBinding } from '../../flight/cmd/builtins.js';
import { Commanding } from '../../flight/cmd/commanding.js';
import type { CommandResponse } from '../../flight/cmd/dispatcher.js';
import { Fields } from '../../flight/config/fields.js';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { SeuInjector, type UpsetPattern } from '../../flight/ecc/injector.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { envelope, NODE, spec, T0_MS, testOperator } from '../cmd/support/harness.js';

const CORE = new Core();
const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['operate', 'approve']);
const FRAME_US = 50_000;
const FRAMES = 1200;

/** One envelope every 20 frames: NOOP, SET_PARAM, GET_PARAM from two operators, and a replay. Signed once, sent in both runs. */
const SCRIPT: Uint8Array[] = (() => {
  const out: Uint8Array[] = [];
  for (let i = 1; i <= 12; i++) {
    const who = i % 2 ? A : B;
    out.push(envelope({ command: 'NOOP', seq: 3 * i - 2, signers: [who] }));
    out.push(envelope({ command: 'SET_PARAM', args: ['cmd.verifyBurst', 1 + (i % 9)], seq: 3 * i - 1, signers: [who] }));
    out.push(envelope({ command: 'GET_PARAM', args: ['cmd.verifyBurst'], seq: 3 * i, signers: [who] }));
  }
  out.push(out[4]!); // a replay: refused both times
  return out;
})();

function run(upsetsPerFrame: number, pattern: UpsetPattern) {
  const tlm = new TelemetryRegistry();
  const clock = new VirtualClock(0);
  const silent = createRootLogger({ level: 'silent' });
  const events = new EventLog(silent, () => clock.nowUs());
  const dir = mkdtempSync(join(tmpdir(), 'tern-ecc-outputs-'));
  const p = new NodeProtection({ core: CORE, tlm, events, dir, config: { scrub: { budgetBytes: 16384, budgetUs: 1000 }, store: ECC_DEFAULTS.store } });
  const cmd = new Commanding({
    node: NODE, dataDir: join(dir, 'cmd'), tlm, events, log: silent, clock, wallMs: () => T0_MS + clock.nowUs() / 1000, protection: p,
    config: {
      approvals: 1, operators: [A, B].map(spec), backend: 'noble',
      dispatch: { budgetUs: 20_000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 8, executionsPerSlot: 4, pendingApprovals: 4 },
      sequence: { budgetUs: 5000, stepsPerSlot: 4 },
    },
  });
  let exec: Executive | undefined;
  cmd.bind('SET_MODE', setModeBinding({ get modeName() { return exec!.modeName; }, requestMode: (mode, reason) => exec!.requestMode(mode, reason) }));
  cmd.bind('LIST_BUNDLES', { handler: () => ({}) });
  const table = { minorFrameMs: FRAME_US / 1000, slots: [['cmd.dispatch', 'cmd.sequence', 'ecc.scrub']] };
  const schedule = parseSchedule(new Fields('test.json'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', [...cmd.tasks(), p.scrubber]);
  exec = new Executive({ schedule, clock, tlm, events, state: p.execState(schedule) }, 0);
  p.attach(exec, schedule);
  const responses: CommandResponse[] = [];
  cmd.onResponse((r) => responses.push(r));

  const injector = new SeuInjector(20261203);
  const targets = [...p.memory.regions, ...p.memory.banks];
  let injected = 0;
  for (let f = 0; f < FRAMES; f++) {
    if (f % 20 === 0 && f / 20 < SCRIPT.length) cmd.submit(SCRIPT[f / 20]!);
    for (let u = 0; u < upsetsPerFrame; u++, injected++) injector.inject(targets, pattern);
    clock.advanceTo(exec.nextDeadlineUs());
    exec.tick();
  }
  const value = (name: string) => tlm.get(name)?.value ?? 0;
  const sum = (key: string) => p.memory.regions.reduce((n, r) => n + value(`ecc.region.${r.name}.${key}`), 0);
  return {
    responses, injected, mode: exec.modeName,
    corrected: sum('corrected') + p.memory.banks.reduce((n, b) => n + b.counts.corrected, 0),
    reloads: sum('reloads'), lost: sum('lost'), noMajority: p.memory.banks.reduce((n, b) => n + b.counts.noMajority, 0),
  };
}

describe('node outputs under SEU injection', () => {
  const clean = run(0, 'single');

  it('runs the script: every command answered, the replay refused', () => {
    const last = clean.responses.filter((r) => r.status !== 'accepted');
    expect(last).toHaveLength(SCRIPT.length);
    expect(last.filter((r) => r.status === 'executed')).toHaveLength(SCRIPT.length - 1);
    expect(last.at(-1)).toMatchObject({ status: 'rejected', reason: 'CMD_REPLAY' });
    expect(last.filter((r) => r.command === 'GET_PARAM').map((r) => r.result)).toEqual(Array.from({ length: 12 }, (_, i) => ({ param: 'cmd.verifyBurst', value: 1 + ((i + 1) % 9) })));
  });

  for (const [pattern, perFrame] of [['single', 5], ['double', 1], ['burst', 1]] as const) {
    it(`gives the same responses with ${perFrame} ${pattern} upset(s) a frame in protected memory`, () => {
      const hit = run(perFrame, pattern);
      expect(hit.injected).toBe(perFrame * FRAMES);
      expect(hit.responses).toEqual(clean.responses);
      expect(hit.mode).toBe('NOMINAL');
      expect({ lost: hit.lost, noMajority: hit.noMajority }).toEqual({ lost: 0, noMajority: 0 });
      if (pattern === 'single') expect(hit.corrected).toBeGreaterThan(0);
      else expect(hit.reloads).toBeGreaterThan(0);
    });
  }
});
