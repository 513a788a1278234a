// Acceptance: a flood of 1,000 invalid signed commands per second does not make the executive
// slip a frame; verification is budgeted (per slot) and rate-limited (token bucket), and every
// dropped envelope is counted. First on a virtual clock (exact bounds), then on the real frame
// timer at 100 Hz for two seconds (no slip).
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { setModeBinding } from '../../flight/cmd/builtins.js';
import { Commanding } from '../../flight/cmd/commanding.js';
import { encodeBody } from '../../flight/cmd/envelope.js';
import { monotonicClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { FrameTimer } from '../../flight/exec/frame-timer.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envelope, harness, NODE, spec, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);
const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

/** `n` envelopes from a known operator with fresh numbers, carrying a signature of another body. */
function forgeries(n: number, expiryMs: number): Uint8Array[] {
  const [, signatures] = cbor.decode(envelope({ command: 'NOOP', seq: 1, signers: [A] }, expiryMs - 600_000)) as [Uint8Array, unknown[]];
  return Array.from({ length: n }, (_, i) =>
    cbor.encode([encodeBody({ target: NODE, operator: 1, seq: 2 + i, expiryMs, opcode: 0x0501, args: [] }), signatures]),
  );
}

describe('flood of invalid signed commands', () => {
  it('virtual clock: per-slot and per-second verification bounds hold exactly, all drops counted', () => {
    const h = harness({ operators: [A, B], dispatch: { queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 2 } });
    const flood = forgeries(3000, T0_MS + 600_000);
    let submitted = 0;
    let maxPerSlot = 0;
    // 3 s of 10 ms slots, 10 envelopes arriving between slots: 1,000 per second.
    for (let slot = 0; slot < 300; slot++) {
      for (let i = 0; i < 10; i++) h.commanding.submit(flood[submitted++]!);
      const before = h.value('cmd.verifications');
      h.run(1, 10);
      maxPerSlot = Math.max(maxPerSlot, h.value('cmd.verifications') - before);
    }
    const verified = h.value('cmd.verifications');
    expect(maxPerSlot).toBeLessThanOrEqual(2);
    // Burst of 10, then 20 per second (cmd.verifyPerSecond), over 3 s.
    expect(verified).toBeLessThanOrEqual(10 + 20 * 3 + 1);
    expect(verified).toBeGreaterThanOrEqual(20 * 3);
    expect(h.value('cmd.rejected.badSignature')).toBe(verified);
    expect(h.value('cmd.executed')).toBe(0);
    const dropped = h.value('cmd.rejected.rateLimited') + h.value('cmd.rejected.queueFull');
    expect(verified + dropped + h.value('cmd.queueDepth')).toBe(submitted);
    // A genuine command still gets through once the flood stops and the bucket refills.
    h.run(100, 10);
    expect(h.send(envelope({ command: 'NOOP', seq: 5000, signers: [A] }, h.wall.ms)).map((r) => r.status)).toEqual(['accepted', 'executed']);
  });

  // Real time on a shared machine: a baseline run without the flood comes first. If the machine
  // alone makes the executive slip, the flood cannot be judged and the test says so and skips.
  it('real frame timer at 100 Hz: no frame slip during 2 s of 1,000 forgeries per second', async (context) => {
    const baseline = await runFrames(0);
    const flooded = await runFrames(1000);
    console.log(JSON.stringify({ baseline, flooded }));
    if (baseline['exec.slips']! > 0 || baseline['exec.frameOverruns']! > 0) {
      console.warn(`SKIPPED flood timing: the machine alone made the executive slip (${JSON.stringify(baseline)})`);
      context.skip('machine too loaded to judge frame slips');
      return;
    }
    expect(flooded['exec.frames']).toBeGreaterThan(150);
    expect(flooded['exec.slips']).toBe(0);
    // On average a slot costs a fifth of a verification (20/s at 100 Hz) plus microseconds per
    // dropped envelope. Single runs over budget are not asserted: on a shared machine a
    // descheduled process overruns whatever it runs; the slip count is the acceptance criterion.
    expect(flooded['exec.task.cmd.dispatch.meanUs']).toBeLessThan(2000);
    const verified = flooded['cmd.verifications']!;
    expect(verified).toBeLessThanOrEqual(10 + 20 * 3);
    expect(flooded['cmd.rejected.badSignature']).toBe(verified);
    expect(verified + flooded['cmd.rejected.rateLimited']! + flooded['cmd.rejected.queueFull']! + flooded['cmd.queueDepth']!).toBe(flooded.submitted);
    expect(flooded['cmd.executed']).toBe(0);
  });
});

/** Runs commanding on the real frame timer (10 ms frames) for 2 s with `perSecond` forgeries arriving. */
async function runFrames(perSecond: number): Promise<Record<string, number>> {
  const tlm = new TelemetryRegistry();
  const log = createRootLogger({ level: 'silent' });
  const events = new EventLog(log, () => monotonicClock.nowUs());
  const commanding = new Commanding({
    node: NODE, dataDir: mkdtempSync(join(tmpdir(), 'tern-flood-')), tlm, events, log, clock: monotonicClock,
    config: {
      approvals: 1, operators: [spec(A)], backend: 'auto',
      // One verification (about 2 ms with noble) per 10 ms slot; the budget leaves room for decoding.
      dispatch: { budgetUs: 5000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 1, executionsPerSlot: 4, pendingApprovals: 4 },
      sequence: { budgetUs: 1000, stepsPerSlot: 4 },
    },
  });
  const mode = { modeName: 'NOMINAL', requestMode: () => undefined };
  commanding.bind('SET_MODE', setModeBinding(mode));
  commanding.bind('LIST_BUNDLES', { handler: () => undefined });
  const table = { minorFrameMs: 10, slots: [['cmd.dispatch', 'cmd.sequence']] };
  const schedule = parseSchedule(new Fields('flood.json'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', commanding.tasks());
  const exec = new Executive({ schedule, clock: monotonicClock, tlm, events });
  const timer = new FrameTimer(exec);
  const flood = forgeries((perSecond * 2), Date.now() + 600_000);
  // Warm up verification as a node does in BOOT: the first runs of the code compile it.
  for (let i = 0; i < 3; i++) commanding.dsa.verify(A.publicKey, flood[0] ?? new Uint8Array(1), new Uint8Array(3309), new Uint8Array(1));
  let submitted = 0;
  timer.start();
  // Arrivals between frames, as the bundle agent would deliver them, every 10 ms.
  await new Promise<void>((resolve) => {
    let ticks = 0;
    const feed = setInterval(() => {
      for (let i = 0; i < perSecond / 100 && submitted < flood.length; i++) commanding.submit(flood[submitted++]!);
      if (++ticks === 200) {
        clearInterval(feed);
        resolve();
      }
    }, 10);
  });
  timer.stop();
  const names = ['exec.frames', 'exec.slips', 'exec.frameOverruns', 'exec.latenessMaxUs', 'exec.task.cmd.dispatch.maxUs', 'exec.task.cmd.dispatch.meanUs',
    'exec.task.cmd.dispatch.overruns', 'cmd.verifications', 'cmd.rejected.badSignature', 'cmd.rejected.rateLimited', 'cmd.rejected.queueFull', 'cmd.queueDepth', 'cmd.executed'];
  return { submitted, ...Object.fromEntries(names.map((n) => [n, tlm.get(n)!.value])) };
}
