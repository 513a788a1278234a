// Flood material: envelopes that look signed (known operator, fresh numbers, a real signature of
// another body), and a run of commanding on the real frame timer with such a flood arriving.
import { Encoder } from 'cbor-x';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setModeBinding } from '../../../flight/cmd/builtins.js';
import { Commanding } from '../../../flight/cmd/commanding.js';
import { encodeBody } from '../../../flight/cmd/envelope.js';
import { Fields } from '../../../flight/config/fields.js';
import { monotonicClock } from '../../../flight/exec/clock.js';
import { Executive } from '../../../flight/exec/executive.js';
import { FrameTimer } from '../../../flight/exec/frame-timer.js';
import { parseSchedule } from '../../../flight/exec/schedule.js';
import { createRootLogger } from '../../../flight/log.js';
import { TelemetryRegistry } from '../../../flight/tlm/channels.js';
import { EventLog } from '../../../flight/tlm/events.js';
import { envelope, NODE, spec, type TestOperator } from './harness.js';

const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

/** `n` envelopes from `signer` with numbers 2.., each carrying the signature of number 1's body. */
export function forgeries(signer: TestOperator, n: number, expiryMs: number): Uint8Array[] {
  const [, signatures] = cbor.decode(envelope({ command: 'NOOP', seq: 1, signers: [signer] }, expiryMs - 600_000)) as [Uint8Array, unknown[]];
  return Array.from({ length: n }, (_, i) =>
    cbor.encode([encodeBody({ target: NODE, operator: signer.operator, seq: 2 + i, expiryMs, opcode: 0x0501, args: [] }), signatures]),
  );
}

export const FLOOD_CHANNELS = [
  'exec.frames', 'exec.slips', 'exec.frameOverruns', 'exec.latenessMaxUs', 'exec.latenessP99Us',
  'exec.task.cmd.dispatch.maxUs', 'exec.task.cmd.dispatch.meanUs', 'exec.task.cmd.dispatch.overruns',
  'cmd.verifications', 'cmd.rejected.badSignature', 'cmd.rejected.rateLimited', 'cmd.rejected.queueFull', 'cmd.queueDepth', 'cmd.executed',
] as const;

/**
 * Runs commanding in 10 ms frames on the real frame timer for `seconds`, with `perSecond`
 * forgeries arriving between frames (every 10 ms, as the bundle agent would deliver them).
 * Returns the telemetry that judges it and how many envelopes were submitted.
 */
export async function runFrames(signer: TestOperator, perSecond: number, seconds: number): Promise<Record<string, number>> {
  const tlm = new TelemetryRegistry();
  const log = createRootLogger({ level: 'silent' });
  const events = new EventLog(log, () => monotonicClock.nowUs());
  const commanding = new Commanding({
    node: NODE, dataDir: mkdtempSync(join(tmpdir(), 'tern-flood-')), tlm, events, log, clock: monotonicClock,
    config: {
      approvals: 1, operators: [spec(signer)], backend: 'auto',
      // One verification (about 2 ms with noble on this machine) per 10 ms slot.
      dispatch: { budgetUs: 5000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 1, executionsPerSlot: 4, pendingApprovals: 4 },
      sequence: { budgetUs: 1000, stepsPerSlot: 4 },
    },
  });
  commanding.bind('SET_MODE', setModeBinding({ modeName: 'NOMINAL', requestMode: () => undefined }));
  commanding.bind('LIST_BUNDLES', { handler: () => undefined });
  const table = { minorFrameMs: 10, slots: [['cmd.dispatch', 'cmd.sequence']] };
  const schedule = parseSchedule(new Fields('flood.json'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', commanding.tasks());
  const exec = new Executive({ schedule, clock: monotonicClock, tlm, events });
  const timer = new FrameTimer(exec);
  const flood = forgeries(signer, perSecond * seconds, Date.now() + 600_000);
  // Warm verification up as a node does in BOOT: the first runs compile the code.
  for (let i = 0; i < 3; i++) commanding.dsa.verify(signer.publicKey, new Uint8Array(1), new Uint8Array(3309), new Uint8Array(1));
  let submitted = 0;
  timer.start();
  await new Promise<void>((resolve) => {
    let ticks = 0;
    const feed = setInterval(() => {
      for (let i = 0; i < perSecond / 100 && submitted < flood.length; i++) commanding.submit(flood[submitted++]!);
      if (++ticks === seconds * 100) {
        clearInterval(feed);
        resolve();
      }
    }, 10);
  });
  timer.stop();
  return { submitted, ...Object.fromEntries(FLOOD_CHANNELS.map((n) => [n, tlm.get(n)!.value])) };
}
