// Receiving one block (RFC 5326 6.8-6.13): red data is gathered by offset; each checkpoint is
// answered with a report of what is held up to the checkpoint's end, sent again until
// acknowledged. Once the whole red part is held, the block goes to the agent, and only when the
// agent has it durable does the report claiming every byte go out: the sender frees the bundle
// on that report, so nothing is lost if this node stops in between. The agent's refusal cancels
// the session (CR), so the sender's send rejects. Green data is not used by this engine (a block
// is all red); green segments are counted and dropped.
import { RangeSet } from './ranges.js';
import { Retransmitter, sessionKey, type SessionHost } from './session.js';
import { CANCEL, MAX_CLAIMS, type CancelSegment, type DataSegment, type ReceptionClaim, type SessionId } from './wire.js';

export class ImportSession {
  readonly key: string;
  private readonly held = new RangeSet();
  private readonly pieces: Array<{ offset: number; data: Uint8Array }> = [];
  private redEnd: number | undefined;
  private nextReport = 1 + Math.floor(Math.random() * 0x3fff_ffff);
  private readonly reports = new Map<number, Retransmitter>();
  private state: 'receiving' | 'delivering' | 'delivered' | 'closed' = 'receiving';
  /** Checkpoints that came while the agent had the block: answered once it decides. */
  private readonly waiting: number[] = [];
  private cancel: Retransmitter | undefined;
  private stopSilenceTimer: (() => void) | undefined;

  constructor(
    private readonly host: SessionHost,
    readonly session: SessionId,
    private readonly deliver: (block: Uint8Array) => Promise<void>,
  ) {
    this.key = sessionKey(session.originator, session.number);
    this.touch();
  }

  get engine(): number {
    return this.session.originator;
  }

  /** Whether the session is done with (delivered and reported, or cancelled). */
  get finished(): boolean {
    return this.state === 'closed';
  }

  get delivered(): boolean {
    return this.state === 'delivered';
  }

  onData(segment: DataSegment): void {
    this.touch();
    if (this.state === 'closed') return;
    if (segment.green) {
      this.host.channels.duplicates.add();
      return;
    }
    const end = segment.offset + segment.data.length;
    if (end > this.host.settings.maxBlockBytes || (this.redEnd !== undefined && end > this.redEnd) || (segment.endOfRed && this.held.within(end, Infinity).length > 0)) {
      this.refuse(CANCEL.systemCancelled);
      return;
    }
    if (segment.endOfRed) this.redEnd = end;
    if (this.state === 'receiving') {
      if (this.held.add(segment.offset, end) > 0) this.pieces.push({ offset: segment.offset, data: segment.data.slice() });
      else this.host.channels.duplicates.add();
    } else {
      this.host.channels.duplicates.add();
    }
    if (this.state === 'receiving' && this.redEnd !== undefined && this.held.covers(0, this.redEnd)) this.hand();
    if (segment.checkpoint) this.answer(segment.checkpoint.serial, end);
  }

  onReportAck(serial: number): void {
    this.touch();
    const timer = this.reports.get(serial);
    if (!timer) return;
    timer.stop();
    this.reports.delete(serial);
    if (this.state === 'delivered' && this.reports.size === 0) this.close();
  }

  onCancel(segment: CancelSegment): void {
    void this.host.emit({ kind: 'cancel-ack', session: this.session, toSender: true }, this.engine);
    if (this.state === 'closed') return;
    this.host.channels.cancelsReceived.add();
    this.host.cancelled(this.key, this.engine, 'sender', segment.reason);
    this.close();
  }

  onCancelAck(): void {
    this.cancel?.stop();
    this.close();
  }

  /** Cancels from this side (CR), sent again until acknowledged or retries run out. */
  refuse(reason: number): void {
    if (this.state === 'closed' || this.cancel) return;
    this.host.channels.cancelsSent.add();
    this.host.cancelled(this.key, this.engine, 'this engine', reason);
    this.stopReports();
    this.pieces.length = 0;
    const segment: CancelSegment = { kind: 'cancel', session: this.session, fromSender: false, reason };
    this.cancel = new Retransmitter(this.host, this.engine, () => this.host.emit(segment, this.engine), () => undefined, () => this.close());
    this.cancel.start();
  }

  /** Ends the session here and now, timers and memory included. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopReports();
    this.cancel?.stop();
    this.stopSilenceTimer?.();
    this.pieces.length = 0;
    this.host.ended(this);
  }

  private hand(): void {
    this.state = 'delivering';
    const block = new Uint8Array(this.redEnd!);
    for (const p of this.pieces) block.set(p.data, p.offset);
    this.pieces.length = 0;
    let verdict: Promise<void>;
    try {
      verdict = this.deliver(block);
    } catch (error) {
      verdict = Promise.reject(error);
    }
    verdict.then(
      () => {
        if (this.state !== 'delivering') return;
        this.state = 'delivered';
        this.host.channels.blocksIn.add();
        this.host.channels.bytesIn.add(block.length);
        for (const serial of this.waiting.splice(0)) this.answer(serial, this.redEnd!);
      },
      () => {
        if (this.state === 'delivering') this.refuse(CANCEL.userCancelled);
      },
    );
  }

  /** Reports reception up to `upper` for checkpoint `serial`, unless the agent still decides. */
  private answer(checkpointSerial: number, upper: number): void {
    if (this.state === 'delivering') {
      this.waiting.push(checkpointSerial);
      return;
    }
    if (this.state !== 'receiving' && this.state !== 'delivered') return;
    const bound = this.state === 'delivered' ? this.redEnd! : upper;
    const claims: ReceptionClaim[] = this.held.within(0, bound).slice(0, MAX_CLAIMS).map((r) => ({ offset: r.start, length: r.end - r.start }));
    if (claims.length === 0) return; // nothing held yet in scope: a report needs one claim at least
    const serial = this.nextReport++;
    const report = { kind: 'report', session: this.session, serial, checkpointSerial, upperBound: bound, lowerBound: 0, claims } as const;
    const timer = new Retransmitter(
      this.host,
      this.engine,
      () => {
        this.host.channels.reportsSent.add();
        return this.host.emit(report, this.engine);
      },
      () => this.host.channels.reportRetransmits.add(),
      () => (this.state === 'delivered' ? this.close() : this.refuse(CANCEL.retransmitLimit)),
    );
    this.reports.set(serial, timer);
    timer.start();
  }

  private stopReports(): void {
    for (const r of this.reports.values()) r.stop();
    this.reports.clear();
  }

  /** Restarts the silence timer: a session without a segment for sessionTimeoutMs is dropped. */
  private touch(): void {
    this.stopSilenceTimer?.();
    this.stopSilenceTimer = this.host.timers.after(this.host.settings.sessionTimeoutMs, () => {
      if (this.state === 'closed') return;
      if (!this.host.linkUp(this.engine)) {
        this.touch(); // silence on a link that is down says nothing about the peer
        return;
      }
      this.host.channels.sessionTimeouts.add();
      this.host.cancelled(this.key, this.engine, 'this engine', CANCEL.retransmitLimit);
      // A silent peer hears nothing more: one CR, no retransmission, and the memory goes now.
      void this.host.emit({ kind: 'cancel', session: this.session, fromSender: false, reason: CANCEL.retransmitLimit }, this.engine);
      this.close();
    });
  }
}
