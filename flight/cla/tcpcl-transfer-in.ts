// Inbound TCPCLv4 transfers of one session: segments are checked against the limits and
// reassembled, a complete transfer goes to the sink, and the answers go back in receive order.
//
// Acknowledgement rule (durable before acknowledged): every intermediate segment is acked on
// receipt; the XFER_ACK of a transfer's LAST segment is sent only once the sink's promise
// resolved, and XFER_REFUSE when it rejected. Responses go out in the order the segments came
// in, so a peer that matches acks to segments in order (as HDTN does) is never confused.
//
// Backpressure: at most maxInboundPending complete transfers may await the sink; at the limit
// the session stops reading the socket (TCP flow control then holds the sender back) and
// resumes when one settles. Memory per session is therefore bounded by about
// (maxInboundPending + 1) x transferMru + segmentMru.
import type { BundleSink, PeerInfo, RefusalReason } from './cla.js';
import { CLA_EVENTS } from './dictionary.js';
import {
  BundleRefusedError,
  CriticalExtensionError,
  MalformedMessageError,
  TransferLengthMismatchError,
  TransferTooLargeError,
  UnexpectedMessageError,
  type ClaProtocolError,
} from './errors.js';
import type { XferSegment } from './tcpcl-decoder.js';
import { TransferData } from './tcpcl-reassembly.js';
import type { SessionIo } from './tcpcl-session.js';
import { EXT_CRITICAL, EXT_TRANSFER_LENGTH, MSG, REFUSE_REASON, XFER_END, XFER_START, refuseReasonName, xferAck, xferRefuse } from './tcpcl-wire.js';

/** Acks and refusals that may wait behind an unsettled final ack before reading pauses. */
const MAX_QUEUED_RESPONSES = 1024;

/** The XFER_REFUSE reason code of each refusal a sink can give. */
const WIRE_REFUSAL: Readonly<Record<RefusalReason, number>> = {
  'no-resources': REFUSE_REASON.NO_RESOURCES,
  'not-acceptable': REFUSE_REASON.NOT_ACCEPTABLE,
};

/** What inbound transfers need of their session beyond the shared I/O. */
export interface InboundHooks {
  readonly sink: BundleSink;
  /** The peer as the sink should see it (with its node ID once SESS_INIT arrived). */
  peer(): PeerInfo;
  /** SESS_TERM sent or received: new transfers are refused. */
  ending(): boolean;
  closed(): boolean;
  pauseReading(): void;
  /** Reading may go on: handle what is buffered, then read the socket again unless paused anew. */
  resumeReading(): void;
}

interface InboundTransfer {
  readonly id: bigint;
  /** Undefined once refused: the rest of a refused transfer is read and dropped. */
  data: TransferData | undefined;
  declared: number | undefined;
}

/** A response (XFER_ACK or XFER_REFUSE) in receive order; `bytes` is unset until it is known. */
interface Response {
  bytes: Uint8Array | undefined;
}

export class InboundTransfers {
  /** Reading stopped for backpressure. */
  paused = false;
  /** Complete transfers handed to the sink and not yet settled. */
  pending = 0;
  private current: InboundTransfer | undefined;
  private readonly responses: Response[] = [];

  constructor(
    private readonly io: SessionIo,
    private readonly hooks: InboundHooks,
  ) {}

  /** A transfer is arriving or awaits the sink: an ending session may not close yet. */
  get busy(): boolean {
    return this.current?.data !== undefined || this.pending > 0;
  }

  onSegment(m: XferSegment): void {
    const start = (m.flags & XFER_START) !== 0;
    if (start) {
      const previous = this.current;
      if (previous?.data !== undefined) {
        // The peer began a transfer before ending the last one: that one will never end.
        this.refuse(previous, REFUSE_REASON.NOT_ACCEPTABLE,
          new UnexpectedMessageError(`XFER_SEGMENT START of transfer ${m.transferId} while transfer ${previous.id} is unfinished`));
      }
      const t: InboundTransfer = { id: m.transferId, data: new TransferData(), declared: undefined };
      this.current = t;
      if (this.hooks.ending()) {
        // RFC 9174 6.1: no new incoming transfer once the session is ending.
        this.refuse(t, REFUSE_REASON.SESSION_TERMINATING);
      } else {
        this.checkExtensions(t, m);
      }
    } else if (this.current === undefined || this.current.id !== m.transferId) {
      this.io.rejectMessage(new UnexpectedMessageError(`XFER_SEGMENT of transfer ${m.transferId} without its START`), MSG.XFER_SEGMENT);
      return;
    }
    const t = this.current!;
    const end = (m.flags & XFER_END) !== 0;
    const { transferMru } = this.io.config;
    if (t.data !== undefined) {
      const received = t.data.length + m.dataLength;
      if (received > transferMru) {
        this.refuse(t, REFUSE_REASON.NO_RESOURCES, new TransferTooLargeError(received, transferMru));
      } else if (t.declared !== undefined && (received > t.declared || (end && received !== t.declared))) {
        this.refuse(t, REFUSE_REASON.NOT_ACCEPTABLE, new TransferLengthMismatchError(t.declared, received));
      } else {
        for (const part of m.data) t.data.append(part);
      }
    }
    if (t.data === undefined) {
      // Segments of a refused transfer still in flight are read and dropped, not acked.
      if (end) this.current = undefined;
      return;
    }
    if (!end) {
      this.respond(xferAck(m.flags, t.id, t.data.length));
      return;
    }
    this.current = undefined;
    this.deliver(t.id, t.data, m.flags);
  }

  /** The session closed: a transfer half received is dropped. */
  drop(): void {
    this.current = undefined;
  }

  private checkExtensions(t: InboundTransfer, m: XferSegment): void {
    const { transferMru } = this.io.config;
    for (const item of m.extensions) {
      if (item.type === EXT_TRANSFER_LENGTH) {
        if (item.value.length !== 8) {
          this.refuse(t, REFUSE_REASON.NOT_ACCEPTABLE, new MalformedMessageError('XFER_SEGMENT', 'Transfer Length extension', `${item.value.length} bytes, expected 8`));
          return;
        }
        const declared = Buffer.from(item.value.buffer, item.value.byteOffset, 8).readBigUInt64BE(0);
        if (declared > BigInt(transferMru)) {
          // Refused up front, before the data floods in (RFC 9174 5.2.5.1).
          this.refuse(t, REFUSE_REASON.NO_RESOURCES, new TransferTooLargeError(Number(declared), transferMru));
          return;
        }
        t.declared = Number(declared);
      } else if ((item.flags & EXT_CRITICAL) !== 0) {
        this.refuse(t, REFUSE_REASON.EXTENSION_FAILURE, new CriticalExtensionError('transfer', item.type));
        return;
      }
    }
  }

  /** Hands a complete transfer to the sink; its final XFER_ACK waits for the sink's verdict. */
  private deliver(id: bigint, data: TransferData, flags: number): void {
    const { channels, events } = this.io;
    const length = data.length;
    const bytes = data.join();
    const slot: Response = { bytes: undefined };
    this.responses.push(slot);
    this.pending++;
    channels.inboundPending.add(1);
    this.pauseIfOverloaded();
    let verdict: Promise<void>;
    try {
      verdict = this.hooks.sink.accept(bytes, this.hooks.peer());
    } catch (error) {
      verdict = Promise.reject(error);
    }
    verdict.then(
      () => {
        slot.bytes = xferAck(flags, id, length);
        channels.bundlesIn.add();
        channels.bytesIn.add(length);
        this.settled();
      },
      (error: unknown) => {
        const reason = error instanceof BundleRefusedError ? WIRE_REFUSAL[error.reason] : REFUSE_REASON.UNKNOWN;
        slot.bytes = xferRefuse(reason, id);
        channels.refusalsSent.add();
        events.emit(CLA_EVENTS.tcpRefusedInbound, {
          peer: this.io.peerName(), transferId: String(id), reason: refuseReasonName(reason), error: String(error),
        });
        this.settled();
      },
    );
  }

  /**
   * Stops reading the socket while maxInboundPending transfers await the sink, or while too
   * many acks wait behind an unsettled one: TCP flow control then holds the sender back.
   */
  private pauseIfOverloaded(): void {
    if (this.paused || !this.overloaded()) return;
    this.paused = true;
    this.hooks.pauseReading();
    this.io.channels.backpressurePauses.add();
    this.io.events.emit(CLA_EVENTS.tcpBackpressure, { peer: this.io.peerName(), pending: this.pending });
  }

  private overloaded(): boolean {
    return this.pending >= this.io.config.maxInboundPending || this.responses.length >= MAX_QUEUED_RESPONSES;
  }

  private settled(): void {
    this.pending--;
    this.io.channels.inboundPending.add(-1);
    this.flushResponses();
    if (this.paused && !this.overloaded() && !this.hooks.closed()) {
      this.paused = false;
      this.hooks.resumeReading();
    }
    this.io.maybeFinish();
  }

  private respond(bytes: Uint8Array): void {
    if (this.responses.length === 0) {
      this.io.write(bytes);
    } else {
      this.responses.push({ bytes });
      this.pauseIfOverloaded();
    }
  }

  private flushResponses(): void {
    while (this.responses.length > 0 && this.responses[0]!.bytes !== undefined) {
      this.io.write(this.responses.shift()!.bytes!);
    }
  }

  private refuse(t: InboundTransfer, reason: number, error?: ClaProtocolError): void {
    t.data = undefined;
    if (error) this.io.record(error);
    this.respond(xferRefuse(reason, t.id));
    this.io.channels.refusalsSent.add();
    this.io.events.emit(CLA_EVENTS.tcpRefusedInbound, {
      peer: this.io.peerName(), transferId: String(t.id), reason: refuseReasonName(reason), error: error?.code ?? 'none',
    });
  }
}
