// The bench as a small Tern ground node on the serial convergence layer: the same SerialCla (CCSDS
// code blocks, LTP) the node runs, with the bench's node number, on the bench's end of the line.
// Commands leave as bundles to the node's command endpoint (ipn:N.1); what the node sends to the
// bench (its downlink endpoint ipn:B.2: responses, events, housekeeping; or any other service)
// arrives here, is recorded on the timeline and kept for the runner's expectations.
import { createHash } from 'node:crypto';
import { SerialCla } from '../flight/cla/serial/serial-cla.js';
import { parseSerialConfig } from '../flight/cla/serial/config.js';
import type { PeerInfo } from '../flight/cla/cla.js';
import { Fields } from '../flight/config/fields.js';
import { hopCountBlock } from '../flight/dtn/blocks.js';
import { dtnNow, payloadBlock } from '../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../flight/dtn/codec.js';
import { ipn } from '../flight/dtn/eid.js';
import { decodeStepped, encodeStep, type StepReport } from '../flight/exec/lockstep.js';
import { createRootLogger } from '../flight/log.js';
import { TelemetryRegistry } from '../flight/tlm/channels.js';
import { EventLog } from '../flight/tlm/events.js';
import { decodeDownlink, type DownlinkItem } from '../gse/tlm.js';
import type { Timeline } from './timeline.js';

export const COMMAND_SERVICE = 1;
export const ECHO_SERVICE = 7;
const DTN_EPOCH_MS = Date.UTC(2000, 0, 1);
export const DOWNLINK_SERVICE = 2;

export interface BenchLinkOptions {
  readonly device: string;
  readonly baud: number;
  /** The bench's node number: the node's serial neighbour and downlink endpoint. */
  readonly bench: number;
  /** The node under test. */
  readonly node: number;
  readonly timeline: Timeline;
  /** Unix ms that stamps the bench's bundles: the node's clock in lockstep; Date.now when absent. */
  readonly nowMs?: () => number;
  /** Bench ms without a step report before the request is sent again (same seq); default 2000. */
  readonly stepResendMs?: number;
  /** Resends of one step request at most; then the step's own timeout decides. Default 10. */
  readonly stepResends?: number;
}

/** What became of step packets: resends, and the packets a `dropLockstep` step made the bench lose. */
export interface StepCounters {
  resends: number;
  /** Reports for a request no longer waited for (the answer to a resend after the first report). */
  lateReports: number;
  requestsLost: number;
  reportsLost: number;
}

export class BenchLink {
  /** Downlink items in arrival order (the runner looks at those after a step's start). */
  readonly items: Array<DownlinkItem & { atMs: number }> = [];
  /** Bundles for bench services other than the downlink, by destination service. */
  readonly bundles: Array<{ destination: string; creationMs: number; payload: Uint8Array; atMs: number }> = [];
  readonly cla: SerialCla;
  private sequence = 0;
  private readonly seen = new Set<string>();
  private contactUp = false;
  // From the wall clock: a bench run never reuses the seq of the last step a node (not restarted) ran.
  private stepSeq = Date.now() % 2 ** 31;
  private readonly stepCounts: StepCounters = { resends: 0, lateReports: 0, requestsLost: 0, reportsLost: 0 };
  /** Step packets still to lose, as a noisy line would (`dropLockstep`). */
  private readonly toLose = { requests: 0, reports: 0 };
  /** Step requests sent and not reported yet, by sequence number. */
  private readonly stepping = new Map<number, { done: (report: StepReport) => void; fail: (error: Error) => void }>();

  constructor(private readonly options: BenchLinkOptions) {
    const log = createRootLogger({ level: 'silent' });
    const config = parseSerialConfig(new Fields('(bench)'), { device: options.device, baud: options.baud }, 'cla.serial');
    this.cla = new SerialCla(config, {
      node: options.bench,
      sink: { accept: (bytes, from) => this.accept(bytes, from) },
      contact: (_node, up) => {
        this.contactUp = up;
        options.timeline.record('contact', { state: up ? 'up' : 'down' });
      },
      tlm: new TelemetryRegistry(),
      events: new EventLog(log, () => performance.now() * 1000),
      log,
      neighbours: [{ node: options.node, cla: 'serial' }],
      allNeighbourIds: [`ipn:${options.node}.0`],
    });
    this.cla.onLockstep((payload) => {
      try {
        const report = decodeStepped(payload);
        if (this.toLose.reports > 0) {
          this.toLose.reports--;
          this.stepCounts.reportsLost++;
          options.timeline.record('lockstep-lost', { packet: 'report', seq: report.seq });
          return;
        }
        const waiting = this.stepping.get(report.seq);
        if (!waiting) {
          this.stepCounts.lateReports++;
          return;
        }
        waiting.done(report);
        this.stepping.delete(report.seq);
      } catch (error) {
        for (const waiting of this.stepping.values()) waiting.fail(error as Error);
        this.stepping.clear();
      }
    });
  }

  /**
   * Asks a node in lockstep to run `frames` minor frames; resolves with its report, which it sends
   * once the frames ran and what they sent has been delivered (its LTP sessions closed). Without a
   * report after stepResendMs the request goes again with the same seq (a noisy line lost it or
   * its report): the node runs a seq once and answers a repeat with the same report.
   */
  async step(frames: number): Promise<StepReport> {
    const seq = this.stepSeq = (this.stepSeq + 1) >>> 0;
    const reported = new Promise<StepReport>((done, fail) => this.stepping.set(seq, { done, fail }));
    // A close while the request is being written fails it before anyone awaits it: not unhandled.
    reported.catch(() => undefined);
    const resendMs = this.options.stepResendMs ?? 2000;
    const maxResends = this.options.stepResends ?? 10;
    let resends = 0;
    let report: StepReport | undefined;
    for (;;) {
      await this.sendStep(seq, frames);
      if (resends === maxResends) {
        report = await reported;
        break;
      }
      let timer: NodeJS.Timeout | undefined;
      const quiet = new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), resendMs)));
      try {
        report = await Promise.race([reported, quiet]);
      } finally {
        clearTimeout(timer);
      }
      if (report) break;
      resends++;
      this.stepCounts.resends++;
      this.options.timeline.record('step-resend', { seq, frames, resend: resends });
    }
    // The node reports once its sessions closed; this end closes its own (and delivers what they
    // carried) a moment later, when the node's last report acks arrive: what the step sent is here then.
    for (;;) {
      const open = this.cla.engine.openSessions;
      if (open.imports === 0 && open.exports === 0) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setImmediate(r));
    this.options.timeline.record('clock-step', { frames, nodeFrames: report.frames, nodeNowUs: report.nowUs, seq, resends });
    return report;
  }

  /** Loses the next `requests` step requests the bench sends and `reports` step reports it receives. */
  loseSteps(requests: number, reports: number): void {
    this.toLose.requests += requests;
    this.toLose.reports += reports;
  }

  private async sendStep(seq: number, frames: number): Promise<void> {
    if (this.toLose.requests > 0) {
      this.toLose.requests--;
      this.stepCounts.requestsLost++;
      this.options.timeline.record('lockstep-lost', { packet: 'request', seq });
      return;
    }
    await this.cla.sendLockstep(encodeStep({ seq, frames }));
  }

  get inContact(): boolean {
    return this.contactUp;
  }

  async start(): Promise<void> {
    await this.cla.start();
  }

  /** Sends `payload` to the node's `service` endpoint; resolves when LTP reported it received. */
  async send(service: number, payload: Uint8Array): Promise<void> {
    const offer = this.cla.link(this.options.node);
    if (!offer) throw new Error(`no contact with node ${this.options.node} on ${this.options.device}`);
    const bundle = createBundle({
      destination: ipn(this.options.node, service), source: ipn(this.options.bench, service),
      creationTime: dtnNow(this.options.nowMs?.()), sequence: this.sequence++, lifetime: 3600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
    });
    this.options.timeline.record('bundle-out', { destination: `ipn:${this.options.node}.${service}`, bytes: bundle.bytes.length });
    await offer.link.send(bundle.bytes);
  }

  counters(): Record<string, number> {
    return { ...this.cla.counters(), ...Object.fromEntries(Object.entries(this.stepCounts).map(([k, v]) => [`lockstep.${k}`, v])) };
  }

  async close(): Promise<void> {
    for (const waiting of this.stepping.values()) waiting.fail(new Error('the bench link closed'));
    this.stepping.clear();
    await this.cla.close();
  }

  private accept(bytes: Uint8Array, _from: PeerInfo): Promise<void> {
    const bundle = decodeBundle(bytes);
    const destination = bundle.primary.destination;
    const service = destination.scheme === 'ipn' ? destination.service : -1;
    const atMs = Date.now();
    // DTN time: ms since 2000-01-01; 0 for a node without a clock.
    const creationMs = bundle.primary.creationTime === 0 ? 0 : bundle.primary.creationTime + DTN_EPOCH_MS;
    this.options.timeline.record('bundle-in', { source: eidText(bundle.primary.source), destination: eidText(destination), bytes: bytes.length, creationMs });
    this.bundles.push({ destination: eidText(destination), creationMs, payload: payloadBlock(bundle).data, atMs });
    if (service !== DOWNLINK_SERVICE) return Promise.resolve();
    for (const item of decodeDownlink(payloadBlock(bundle).data)) {
      // Delivery is at least once: a node that lost power before LTP's report sends a bundle again.
      const key = createHash('sha256').update(JSON.stringify(item)).digest('hex');
      if (this.seen.has(key)) {
        this.options.timeline.record('duplicate', { item: item.kind });
        continue;
      }
      this.seen.add(key);
      this.items.push({ ...item, atMs });
      const kind = item.kind === 'rsp' ? 'response' : item.kind === 'evt' ? 'event' : 'housekeeping';
      this.options.timeline.record(kind, item.record as unknown as Record<string, unknown>);
    }
    return Promise.resolve();
  }
}

function eidText(eid: { scheme: string; node?: number; service?: number }): string {
  return eid.scheme === 'ipn' ? `ipn:${eid.node}.${eid.service}` : 'dtn:none';
}
