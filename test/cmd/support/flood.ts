// Flood material: envelopes that look signed (known operator, fresh numbers, a real signature of
// another body), and a run of commanding on the real frame timer with such a flood arriving
// beside genuine commands.
import { Encoder } from 'cbor-x';
import { performance } from 'node:perf_hooks';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setModeBinding } from '../../../flight/cmd/builtins.js';
import { Commanding } from '../../../flight/cmd/commanding.js';
import { encodeBody } from '../../../flight/cmd/envelope.js';
import type { Origin } from '../../../flight/cmd/source-queues.js';
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

/**
 * `n` envelopes from `signer` with numbers `firstSeq`.., each carrying the signature of number 1's
 * body. None verifies, so none uses its number up: numbers above the genuine ones pass the replay
 * check every time, as an attacker would choose them.
 */
export function forgeries(signer: TestOperator, n: number, expiryMs: number, firstSeq = 2): Uint8Array[] {
  const [, signatures] = cbor.decode(envelope({ command: 'NOOP', seq: 1, signers: [signer] }, expiryMs - 600_000)) as [Uint8Array, unknown[]];
  return Array.from({ length: n }, (_, i) =>
    cbor.encode([encodeBody({ target: NODE, operator: signer.operator, seq: firstSeq + i, expiryMs, opcode: 0x0501, args: [] }), signatures]),
  );
}

export const FLOOD_CHANNELS = [
  'exec.frames', 'exec.slips', 'exec.frameOverruns', 'exec.latenessMaxUs', 'exec.latenessP99Us',
  'exec.task.cmd.dispatch.maxUs', 'exec.task.cmd.dispatch.meanUs', 'exec.task.cmd.dispatch.overruns',
  'cmd.verifications', 'cmd.rejected.badSignature', 'cmd.rejected.rateLimited', 'cmd.rejected.queueFull', 'cmd.queueDepth', 'cmd.executed',
] as const;

export interface FloodPlan {
  /** Forgeries per second, arriving every 10 ms between frames as the bundle agent delivers them. */
  readonly forgedPerSecond: number;
  readonly forgedOrigin: Origin;
  /** Genuine NOOPs per second (0 for none), signed by the same operator. */
  readonly genuinePerSecond: number;
  readonly genuineOrigin: Origin;
  readonly seconds: number;
}

export interface FloodResult {
  /** Telemetry that judges the run (FLOOD_CHANNELS) and how many forgeries were submitted. */
  readonly channels: Record<string, number>;
  /** Milliseconds from submission to execution per genuine command; undefined if it never ran. */
  readonly genuineMs: Array<number | undefined>;
}

/**
 * Runs commanding in 10 ms frames on the real frame timer for `plan.seconds`, with forgeries and
 * genuine commands arriving between frames; when there are genuine commands the flood goes on two
 * more seconds, so the last one has its 2 s under the flood too.
 */
export async function runFrames(signer: TestOperator, plan: FloodPlan): Promise<FloodResult> {
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
  const expiryMs = Date.now() + 600_000;
  const pool = forgeries(signer, 256, expiryMs, 1_000_000_000);
  const genuine = Array.from({ length: Math.ceil(plan.genuinePerSecond * plan.seconds) }, (_, i) =>
    envelope({ command: 'NOOP', seq: 10 + i, signers: [signer] }, expiryMs - 600_000));
  const sentAt = new Map<number, number>();
  const genuineMs: Array<number | undefined> = genuine.map(() => undefined);
  commanding.onResponse((r) => {
    if (r.status === 'executed' && r.seq !== undefined && sentAt.has(r.seq)) genuineMs[r.seq - 10] = performance.now() - sentAt.get(r.seq)!;
  });
  // Warm verification up as a node does in BOOT: the first runs compile the code.
  for (let i = 0; i < 3; i++) commanding.dsa.verify(signer.publicKey, new Uint8Array(1), new Uint8Array(3309), new Uint8Array(1));
  let submitted = 0;
  let sent = 0;
  const genuineEveryTicks = plan.genuinePerSecond > 0 ? Math.round(100 / plan.genuinePerSecond) : 0;
  const totalTicks = (plan.seconds + (genuine.length > 0 ? 2 : 0)) * 100;
  timer.start();
  await new Promise<void>((resolve) => {
    let ticks = 0;
    const feed = setInterval(() => {
      for (let i = 0; i < plan.forgedPerSecond / 100; i++) commanding.submit(pool[submitted++ % pool.length]!, plan.forgedOrigin);
      if (genuineEveryTicks > 0 && ticks % genuineEveryTicks === genuineEveryTicks / 2 && sent < genuine.length) {
        sentAt.set(10 + sent, performance.now());
        commanding.submit(genuine[sent++]!, plan.genuineOrigin);
      }
      if (++ticks === totalTicks) {
        clearInterval(feed);
        resolve();
      }
    }, 10);
  });
  timer.stop();
  return { channels: { submitted, ...Object.fromEntries(FLOOD_CHANNELS.map((n) => [n, tlm.get(n)!.value])) }, genuineMs };
}
