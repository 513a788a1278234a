// One LTP engine (RFC 5326), independent of the link under it: it sends segments through
// `transmit` and is given every segment that arrives. It keeps the export sessions (blocks this
// node sends), the import sessions (blocks it receives) and a bounded memory of finished import
// sessions, so a retransmitted checkpoint of a delivered block is answered again and the block
// is never delivered twice. Every flaw in a segment is a typed error, counted; a peer that stops
// answering costs a retransmission limit or a session timeout, never memory that stays.
import type { Logger } from '../../log.js';
import type { EventLog } from '../../tlm/events.js';
import { CLA_EVENTS, type LtpChannels } from '../dictionary.js';
import { LtpBlockTooLargeError, LtpMalformedSegmentError } from './errors.js';
import { ExportSession } from './export-session.js';
import { ImportSession } from './import-session.js';
import { BP_CLIENT_SERVICE, sessionKey, type LtpSettings, type SessionHost } from './session.js';
import type { LtpTimers } from './timers.js';
import { CANCEL, decodeSegment, encodeSegment, type Segment } from './wire.js';

/** Finished import sessions remembered (for late checkpoints) before the oldest is forgotten. */
const FINISHED_MEMORY = 4096;

export interface LtpEngineOptions {
  readonly engineId: number;
  readonly settings: LtpSettings;
  readonly timers: LtpTimers;
  readonly channels: LtpChannels;
  /** Puts one segment on the link to `engine`; resolves when it has left. */
  readonly transmit: (segment: Uint8Array, engine: number) => Promise<void>;
  /** A whole red block from `engine`: resolves when the agent holds it durably. */
  readonly deliver: (block: Uint8Array, engine: number) => Promise<void>;
  /** Whether the link to `engine` is up (absent: always, as over UDP). */
  readonly linkUp?: (engine: number) => boolean;
  /** Whether segments from this engine are taken (configured neighbours only). */
  readonly knows: (engine: number) => boolean;
  readonly events: EventLog;
  readonly log: Logger;
}

export class LtpEngine implements SessionHost {
  readonly engineId: number;
  readonly settings: LtpSettings;
  readonly timers: LtpTimers;
  readonly channels: LtpChannels;
  /** Malformed segments by code: the detail behind the `malformed` counter. */
  readonly errorCounts = new Map<string, number>();
  private readonly exports = new Map<string, ExportSession>();
  private readonly imports = new Map<string, ImportSession>();
  /** Finished import sessions -> block length (0: cancelled, nothing to report). */
  private readonly finished = new Map<string, number>();
  /** Settled export sessions -> their peer engine, to acknowledge repeated reports. */
  private readonly settled = new Map<string, number>();
  /** Blocks waiting for an export session slot, per engine. */
  private readonly queued = new Map<number, Array<() => void>>();
  private readonly inFlight = new Map<number, number>();
  private nextSession = 1 + Math.floor(Math.random() * 0x3fff_ffff);
  private closed = false;

  constructor(private readonly options: LtpEngineOptions) {
    this.engineId = options.engineId;
    this.settings = options.settings;
    this.timers = options.timers;
    this.channels = options.channels;
  }

  /** Sends one block (a bundle) to `engine`; resolves when it was reported received in full. */
  send(block: Uint8Array, engine: number): Promise<void> {
    if (block.length === 0 || block.length > this.settings.maxBlockBytes) {
      return Promise.reject(new LtpBlockTooLargeError(block.length, this.settings.maxBlockBytes));
    }
    return new Promise((resolve, reject) => {
      const begin = (): void => {
        if (this.closed) {
          reject(new LtpMalformedSegmentError('LTP_INCONSISTENT', 'LTP engine closed'));
          return;
        }
        this.inFlight.set(engine, (this.inFlight.get(engine) ?? 0) + 1);
        const session = new ExportSession(this, this.nextSession++, engine, block, (error) => (error ? reject(error) : resolve()));
        this.exports.set(session.key, session);
        this.channels.exportSessions.set(this.exports.size);
        session.start();
      };
      if ((this.inFlight.get(engine) ?? 0) < this.settings.maxExportSessions) begin();
      else {
        const queue = this.queued.get(engine) ?? [];
        queue.push(begin);
        this.queued.set(engine, queue);
      }
    });
  }

  /** Takes one received segment; `from` names the sender for the events. */
  receive(bytes: Uint8Array, from: string): void {
    let segment: Segment;
    try {
      segment = decodeSegment(bytes);
      this.check(segment);
    } catch (error) {
      if (!(error instanceof LtpMalformedSegmentError)) throw error;
      this.malformed(error, from);
      return;
    }
    this.channels.segmentsIn.add();
    this.dispatch(segment);
  }

  /** Cancels every session (CS/CR once, no retries) and stops all timers. */
  close(): void {
    this.closed = true;
    for (const s of this.exports.values()) {
      s.fail(CANCEL.systemCancelled, 'LTP engine closing');
      s.stopTimers();
    }
    for (const s of this.imports.values()) s.close();
    this.exports.clear();
    this.imports.clear();
    for (const queue of this.queued.values()) for (const begin of queue) begin();
    this.queued.clear();
  }

  get openSessions(): { exports: number; imports: number } {
    return { exports: this.exports.size, imports: this.imports.size };
  }

  // ---- SessionHost ------------------------------------------------------------------------------

  linkUp(engine: number): boolean {
    return this.options.linkUp?.(engine) ?? true;
  }

  emit(segment: Segment, engine: number): Promise<void> {
    this.channels.segmentsOut.add();
    return this.options.transmit(encodeSegment(segment), engine).catch((error: unknown) => {
      this.options.log.debug({ err: error, engine }, 'LTP segment not sent');
    });
  }

  ended(session: { readonly key: string }): void {
    if (session instanceof ExportSession) {
      if (this.exports.get(session.key) !== session) return;
      this.exports.delete(session.key);
      this.remember(this.settled, session.key, session.engine);
      this.channels.exportSessions.set(this.exports.size);
      const left = (this.inFlight.get(session.engine) ?? 1) - 1;
      this.inFlight.set(session.engine, left);
      this.queued.get(session.engine)?.shift()?.();
      return;
    }
    const imported = this.imports.get(session.key);
    if (imported !== session) return;
    this.imports.delete(session.key);
    this.channels.importSessions.set(this.imports.size);
    this.remember(this.finished, session.key, this.finished.get(session.key) ?? 0);
  }

  cancelled(session: string, engine: number, by: string, reason: number): void {
    this.options.events.emit(CLA_EVENTS.ltpCancelled, { session, engine, by, reason });
  }

  // ---- internals --------------------------------------------------------------------------------

  /** Checks a decoded segment against this engine's peers and limits. */
  private check(segment: Segment): void {
    const { originator } = segment.session;
    const ours = originator === this.engineId;
    // Reports, CR and CAS come from a block's receiver, so only to the engine that originated it.
    const fromReceiver = segment.kind === 'report' || (segment.kind === 'cancel' && !segment.fromSender) || (segment.kind === 'cancel-ack' && segment.toSender);
    if (fromReceiver !== ours) {
      throw new LtpMalformedSegmentError('LTP_NOT_OURS', `LTP ${segment.kind} for session ${originator}:${segment.session.number}: wrong direction for this engine`);
    }
    if (!ours && !this.options.knows(originator)) {
      throw new LtpMalformedSegmentError('LTP_UNKNOWN_ENGINE', `LTP segment from engine ${originator}, not a configured neighbour`);
    }
    if (segment.kind === 'data') {
      if (segment.clientServiceId !== BP_CLIENT_SERVICE) {
        throw new LtpMalformedSegmentError('LTP_INCONSISTENT', `LTP data for client service ${segment.clientServiceId}; this engine serves only BP (${BP_CLIENT_SERVICE})`);
      }
      if (segment.offset + segment.data.length > this.settings.maxBlockBytes) {
        throw new LtpMalformedSegmentError('LTP_BLOCK_TOO_LARGE', `LTP data reaches byte ${segment.offset + segment.data.length}, beyond maxBlockBytes ${this.settings.maxBlockBytes}`);
      }
    }
  }

  private dispatch(segment: Segment): void {
    const key = sessionKey(segment.session.originator, segment.session.number);
    switch (segment.kind) {
      case 'report': {
        const session = this.exports.get(key);
        if (session) session.onReport(segment);
        else {
          // A report of a session already settled: its RA was lost; acknowledge it again.
          this.channels.duplicates.add();
          const peer = this.peerOf(key);
          if (peer >= 0) void this.emit({ kind: 'report-ack', session: segment.session, reportSerial: segment.serial }, peer);
        }
        return;
      }
      case 'cancel': {
        if (segment.fromSender) {
          this.importFor(segment, key)?.onCancel(segment);
          return;
        }
        const session = this.exports.get(key);
        if (session) session.onCancel(segment);
        else if (this.peerOf(key) >= 0) void this.emit({ kind: 'cancel-ack', session: segment.session, toSender: false }, this.peerOf(key));
        return;
      }
      case 'cancel-ack':
        if (segment.toSender) this.exports.get(key)?.onCancelAck();
        else this.imports.get(key)?.onCancelAck();
        return;
      case 'report-ack':
        this.imports.get(key)?.onReportAck(segment.reportSerial);
        return;
      case 'data': {
        const session = this.importFor(segment, key);
        if (session) session.onData(segment);
        return;
      }
    }
  }

  /**
   * The import session a segment belongs to, opened for new red data if the limit allows. A
   * segment of a finished session is answered from memory: a checkpoint of a delivered block
   * gets a report of the whole block (the first was lost), anything else is a duplicate.
   */
  private importFor(segment: Segment, key: string): ImportSession | undefined {
    const open = this.imports.get(key);
    if (open) return open;
    const engine = segment.session.originator;
    if (this.finished.has(key)) {
      this.channels.duplicates.add();
      const length = this.finished.get(key)!;
      if (segment.kind === 'data' && segment.checkpoint && length > 0) {
        this.channels.reportsSent.add();
        void this.emit({
          kind: 'report', session: segment.session, serial: 1 + Math.floor(Math.random() * 0x3fff_ffff),
          checkpointSerial: segment.checkpoint.serial, upperBound: length, lowerBound: 0, claims: [{ offset: 0, length }],
        }, engine);
      } else if (segment.kind === 'data' && segment.checkpoint) {
        // Cancelled or timed out here: tell the sender at once rather than let it retry.
        void this.emit({ kind: 'cancel', session: segment.session, fromSender: false, reason: CANCEL.systemCancelled }, engine);
      }
      return undefined;
    }
    if (segment.kind !== 'data' || segment.green) return undefined;
    if (this.closed || this.imports.size >= this.settings.maxImportSessions) {
      this.channels.refusedSessions.add();
      void this.emit({ kind: 'cancel', session: segment.session, fromSender: false, reason: CANCEL.systemCancelled }, engine);
      return undefined;
    }
    const session: ImportSession = new ImportSession(this, segment.session, (block) =>
      this.options.deliver(block, engine).then(() => {
        this.finished.set(key, block.length);
      }));
    this.imports.set(key, session);
    this.channels.importSessions.set(this.imports.size);
    return session;
  }

  /** The peer of a session this engine originated (open or settled); -1 if long forgotten. */
  private peerOf(key: string): number {
    return this.exports.get(key)?.engine ?? this.settled.get(key) ?? -1;
  }

  private remember<V>(memory: Map<string, V>, key: string, value: V): void {
    memory.delete(key);
    memory.set(key, value);
    if (memory.size > FINISHED_MEMORY) memory.delete(memory.keys().next().value!);
  }

  private malformed(error: LtpMalformedSegmentError, from: string): void {
    this.channels.malformed.add();
    this.errorCounts.set(error.code, (this.errorCounts.get(error.code) ?? 0) + 1);
    this.options.events.emit(CLA_EVENTS.ltpMalformed, { peer: from, code: error.code, error: error.message });
  }
}
