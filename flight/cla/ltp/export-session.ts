// Sending one block, all red (RFC 5326 6.1-6.7): the block goes out in segments, the last a
// checkpoint ending the red part; each report is acknowledged, its claims recorded, and what it
// shows missing is sent again ending in a new checkpoint. The send resolves only when reports
// claim every byte (so the agent frees the bundle only once the other side holds all of it), and
// rejects when the receiver cancels or checkpoints go unanswered maxRetries times.
import { LtpSessionCancelledError } from './errors.js';
import { RangeSet } from './ranges.js';
import { BP_CLIENT_SERVICE, Retransmitter, sessionKey, type SessionHost } from './session.js';
import { CANCEL, dataHeaderLength, SEGMENT, type CancelSegment, type DataSegment, type ReportSegment, type SessionId } from './wire.js';

export class ExportSession {
  readonly key: string;
  readonly session: SessionId;
  private readonly reported = new RangeSet();
  private readonly checkpoints = new Map<number, Retransmitter>();
  private readonly reportsSeen = new Set<number>();
  private nextCheckpoint: number;
  private cancel: Retransmitter | undefined;
  private state: 'sending' | 'done' | 'cancelling' = 'sending';

  constructor(
    private readonly host: SessionHost,
    number: number,
    readonly engine: number,
    private readonly block: Uint8Array,
    private readonly settle: (error?: Error) => void,
  ) {
    this.session = { originator: host.engineId, number };
    this.key = sessionKey(host.engineId, number);
    // Serial numbers start at random so a report of an old session cannot pass for this one's.
    this.nextCheckpoint = 1 + Math.floor(Math.random() * 0x3fff_ffff);
  }

  start(): void {
    this.sendRange(0, this.block.length, 0, false);
  }

  onReport(report: ReportSegment): void {
    this.host.channels.reportsReceived.add();
    // Every report is acknowledged, repeats too: the receiver's RA may have been lost.
    void this.host.emit({ kind: 'report-ack', session: this.session, reportSerial: report.serial }, this.engine);
    if (this.state !== 'sending' || this.reportsSeen.has(report.serial)) return;
    this.reportsSeen.add(report.serial);
    if (report.upperBound > this.block.length) {
      this.fail(CANCEL.systemCancelled, `report scope ends at ${report.upperBound}, past the block's ${this.block.length} bytes`);
      return;
    }
    this.checkpoints.get(report.checkpointSerial)?.stop();
    this.checkpoints.delete(report.checkpointSerial);
    for (const c of report.claims) this.reported.add(report.lowerBound + c.offset, report.lowerBound + c.offset + c.length);
    if (this.reported.covers(0, this.block.length)) {
      this.finish();
      return;
    }
    const gaps = this.reported.gaps(report.lowerBound, report.upperBound);
    for (let i = 0; i < gaps.length; i++) {
      const g = gaps[i]!;
      this.sendRange(g.start, g.end, report.serial, true, i === gaps.length - 1);
    }
  }

  onCancel(segment: CancelSegment): void {
    void this.host.emit({ kind: 'cancel-ack', session: this.session, toSender: false }, this.engine);
    if (this.state === 'done') return;
    this.host.channels.cancelsReceived.add();
    this.host.cancelled(this.key, this.engine, 'receiver', segment.reason);
    this.stopTimers();
    this.state = 'done';
    this.settle(new LtpSessionCancelledError('receiver', segment.reason, `block of ${this.block.length} bytes to engine ${this.engine}`));
    this.host.ended(this);
  }

  onCancelAck(): void {
    if (this.state !== 'cancelling') return;
    this.cancel?.stop();
    this.state = 'done';
    this.host.ended(this);
  }

  /** Cancels the session from this side (CS), e.g. when the engine closes. */
  fail(reason: number, detail: string): void {
    if (this.state !== 'sending') return;
    this.stopTimers();
    this.state = 'cancelling';
    this.host.channels.cancelsSent.add();
    this.host.cancelled(this.key, this.engine, 'this engine', reason);
    this.settle(new LtpSessionCancelledError('sender', reason, detail));
    const segment: CancelSegment = { kind: 'cancel', session: this.session, fromSender: true, reason };
    this.cancel = new Retransmitter(this.host, this.engine, () => this.host.emit(segment, this.engine), () => undefined, () => {
      this.state = 'done';
      this.host.ended(this);
    });
    this.cancel.start();
  }

  /** Drops every timer without a word to the peer (engine shutdown after cancelling). */
  stopTimers(): void {
    for (const cp of this.checkpoints.values()) cp.stop();
    this.checkpoints.clear();
    this.cancel?.stop();
  }

  private finish(): void {
    this.stopTimers();
    this.state = 'done';
    this.host.channels.blocksOut.add();
    this.host.channels.bytesOut.add(this.block.length);
    this.settle();
    this.host.ended(this);
  }

  /**
   * Sends [start, end) in segments of at most segmentBytes each, header included (as ION's span
   * "max segment size": a segment fits the link's datagram or frame whole). The last segment is
   * a checkpoint when `checkpointLast` (always on the first pass, which ends the red part and the
   * block).
   */
  private sendRange(start: number, end: number, reportSerial: number, retransmission: boolean, checkpointLast = true): void {
    for (let at = start; at < end;) {
      let stop = Math.min(end, at + this.dataRoom(at, undefined));
      const serial = stop === end && checkpointLast ? this.nextCheckpoint : undefined;
      // A checkpoint's serial numbers take room too: the last segment may have to be shorter.
      if (serial !== undefined) stop = Math.min(end, at + this.dataRoom(at, { serial, reportSerial }));
      const last = stop === end && checkpointLast;
      const endsBlock = stop === this.block.length;
      const type = !last ? SEGMENT.red : endsBlock ? SEGMENT.redCheckpointEob : SEGMENT.redCheckpoint;
      const base = { kind: 'data', type, session: this.session, clientServiceId: BP_CLIENT_SERVICE, offset: at, data: this.block.subarray(at, stop), endOfRed: type === SEGMENT.redCheckpointEob, green: false } as const;
      at = stop;
      if (retransmission) this.host.channels.dataRetransmitted.add();
      if (!last) {
        void this.host.emit(base, this.engine);
        continue;
      }
      const segment: DataSegment = { ...base, checkpoint: { serial: this.nextCheckpoint++, reportSerial } };
      const timer = new Retransmitter(
        this.host,
        this.engine,
        () => this.host.emit(segment, this.engine),
        () => this.host.channels.checkpointRetransmits.add(),
        () => this.fail(CANCEL.retransmitLimit, `checkpoint ${segment.checkpoint!.serial} unanswered ${this.host.settings.maxRetries + 1} times`),
      );
      this.checkpoints.set(segment.checkpoint!.serial, timer);
      timer.start();
    }
  }

  /** Data bytes that fit one segment at `offset` beside its header (at least one). */
  private dataRoom(offset: number, checkpoint: { serial: number; reportSerial: number } | undefined): number {
    const header = dataHeaderLength(this.session, BP_CLIENT_SERVICE, offset, this.host.settings.segmentBytes, checkpoint);
    return Math.max(1, this.host.settings.segmentBytes - header);
  }
}
