// Lockstep: the executive on a VirtualClock whose frames run only when a HIL bench asks, over the
// serial line (lockstep packets, flight/cla/serial/packets.ts). Before a step runs, the node waits
// until it is settled: nothing arriving or leaving half done (LTP sessions, bundles being
// accepted, store writes), no health ping outstanding. Then the step's frames run back to back
// with no I/O between them, and the node settles again before it reports, so the bench has what
// they sent. What frames do then depends only on what the bench sent and on earlier frames, not
// on how fast the machine or the line is: the same scenario gives the same telemetry every run.
// In lockstep every clock the node reads comes from here: the executive's, the events', and the
// wall clock (LOCKSTEP_EPOCH_MS + virtual time) that stamps responses, expiries and bundles.
// A noisy line loses step packets: the bench resends a request (same seq) it has no report for,
// so the node takes requests by seq. A repeat of the last request it ran is answered with the
// same report and runs nothing; a repeat of one still waiting or running is dropped (its report is
// on its way). The line is FIFO and the bench sends seq N+1 only once it has N's report, so no
// older request can arrive after a newer one: the last report is all the node needs to keep.
import { TernError } from '../errors.js';
import type { Channel } from '../tlm/channels.js';
import type { VirtualClock } from './clock.js';
import type { LOCKSTEP_CHANNELS } from './dictionary.js';
import type { Executive } from './executive.js';

/** The node's wall clock at virtual time 0 (2030-01-01T00:00:00Z). */
export const LOCKSTEP_EPOCH_MS = Date.UTC(2030, 0, 1);

const STEP = 0x01;
const STEPPED = 0x02;

/** The bench asks for `frames` more minor frames; `seq` numbers its requests. */
export interface StepRequest {
  readonly seq: number;
  readonly frames: number;
}

/** The node ran a request: its frame count and virtual time after it. */
export interface StepReport {
  readonly seq: number;
  readonly frames: number;
  readonly nowUs: number;
}

export class LockstepPacketError extends TernError {
  readonly code = 'EXEC_BAD_LOCKSTEP_PACKET';
  constructor(detail: string) {
    super(`lockstep packet: ${detail}`);
    this.name = 'LockstepPacketError';
  }
}

export function encodeStep(request: StepRequest): Uint8Array {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  out[0] = STEP;
  view.setUint32(1, request.seq);
  view.setUint32(5, request.frames);
  return out;
}

export function encodeStepped(report: StepReport): Uint8Array {
  const out = new Uint8Array(17);
  const view = new DataView(out.buffer);
  out[0] = STEPPED;
  view.setUint32(1, report.seq);
  view.setUint32(5, report.frames);
  view.setFloat64(9, report.nowUs);
  return out;
}

export function decodeStep(bytes: Uint8Array): StepRequest {
  if (bytes.length !== 9 || bytes[0] !== STEP) throw new LockstepPacketError(`expected a 9-byte step request, got ${bytes.length} bytes of type ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return { seq: view.getUint32(1), frames: view.getUint32(5) };
}

export function decodeStepped(bytes: Uint8Array): StepReport {
  if (bytes.length !== 17 || bytes[0] !== STEPPED) throw new LockstepPacketError(`expected a 17-byte step report, got ${bytes.length} bytes of type ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return { seq: view.getUint32(1), frames: view.getUint32(5), nowUs: view.getFloat64(9) };
}

export interface LockstepOptions {
  readonly exec: Executive;
  readonly clock: VirtualClock;
  /** Resolves once nothing is in flight that the next frames could see half done. */
  readonly settled: () => Promise<void>;
  readonly channels: LockstepChannels;
}

export type LockstepChannels = { readonly [K in keyof typeof LOCKSTEP_CHANNELS]: Channel };

/** Runs the frames the bench asks for, one request at a time, each after the node settled, each seq once. */
export class LockstepDriver {
  private queue: Promise<unknown> = Promise.resolve();
  private frames = 0;
  /** The report of the last request run, sent again if the bench asks for its seq again. */
  private last: StepReport | undefined;
  /** Requests waiting to run or running, by seq. */
  private readonly taken = new Set<number>();

  constructor(private readonly options: LockstepOptions) {}

  /** The node's wall clock in lockstep, Unix ms. */
  wallMs(): number {
    return LOCKSTEP_EPOCH_MS + Math.floor(this.options.clock.nowUs() / 1000);
  }

  /** Anchors frame 0 at virtual time 0; nothing runs until the first step. */
  start(): void {
    this.options.exec.begin(this.options.clock.nowUs());
  }

  /**
   * Runs `request.frames` frames once the node settled (after any request before it) and resolves
   * with the report to send; a repeat of the last seq run resolves with its report again, running
   * nothing, and a repeat of a seq still waiting or running with nothing to send.
   */
  step(request: StepRequest): Promise<StepReport | undefined> {
    const { channels } = this.options;
    if (this.last?.seq === request.seq) {
      channels.repeats.add();
      return Promise.resolve(this.last);
    }
    if (this.taken.has(request.seq)) {
      channels.duplicates.add();
      return Promise.resolve(undefined);
    }
    this.taken.add(request.seq);
    const run = this.queue.then(async () => {
      try {
        await this.options.settled();
        const { exec, clock } = this.options;
        channels.steps.add();
        for (let i = 0; i < request.frames; i++) {
          clock.advanceTo(exec.nextDeadlineUs());
          exec.tick();
          this.frames++;
        }
        // Reported once what the frames sent has left (its LTP sessions closed): the bench then has it.
        await this.options.settled();
        this.last = { seq: request.seq, frames: this.frames, nowUs: clock.nowUs() };
        return this.last;
      } finally {
        this.taken.delete(request.seq);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
