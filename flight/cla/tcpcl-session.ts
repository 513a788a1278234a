// One TCPCLv4 session (RFC 9174) over one TCP connection, active (this node connected) or
// passive (it accepted). The session frames the byte stream with the incremental decoder, runs
// the contact header and SESS_INIT handshake, moves transfers both ways, keeps the session
// alive, and ends it with SESS_TERM. It never decodes a bundle.
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
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleLink, BundleSink, PeerInfo, RefusalReason } from './cla.js';
import { CLA_EVENTS, type TCPCL_CHANNELS } from './dictionary.js';
import {
  BundleRefusedError,
  ClaProtocolError,
  ContactHeaderError,
  CriticalExtensionError,
  EmptyBundleError,
  IdleTimeoutError,
  HandshakeTimeoutError,
  MalformedMessageError,
  NodeIdMismatchError,
  SegmentTooLargeError,
  SessionClosedError,
  TransferLengthMismatchError,
  TransferRefusedError,
  TransferTimeoutError,
  TransferTooLargeError,
  UnexpectedMessageError,
  UnknownMessageTypeError,
  VersionMismatchError,
} from './errors.js';
import { SMALL_CHUNK, TcpclDecoder, type ContactHeader, type Message, type SessInit, type SessTerm, type XferAck, type XferRefuse, type XferSegment } from './tcpcl-decoder.js';
import {
  EXT_CRITICAL,
  EXT_TRANSFER_LENGTH,
  KEEPALIVE,
  MSG,
  MSG_NAME,
  REFUSE_REASON,
  REJECT_REASON,
  TERM_REASON,
  TERM_REPLY,
  XFER_END,
  XFER_START,
  contactHeader,
  msgReject,
  refuseReasonName,
  rejectReasonName,
  sessInit,
  sessTerm,
  termReasonName,
  xferAck,
  xferRefuse,
  xferSegmentHeader,
} from './tcpcl-wire.js';

export interface SessionConfig {
  /** This node's ID as sent in SESS_INIT, e.g. `ipn:1.0`. */
  readonly localNodeId: string;
  /** Keepalive interval proposed in SESS_INIT, seconds (0 disables); the session uses the minimum of both. */
  readonly keepaliveS: number;
  /** Largest segment this node receives (announced); also the largest it sends. */
  readonly segmentMru: number;
  /** Largest transfer (bundle) this node receives (announced). */
  readonly transferMru: number;
  /** Complete transfers that may await the sink before the session stops reading. */
  readonly maxInboundPending: number;
  /** A passive session closes a connection that sent no contact header within this time. */
  readonly contactTimeoutMs: number;
  /** Contact header and SESS_INIT must be exchanged within this time. */
  readonly handshakeTimeoutMs: number;
  /** An outbound transfer not fully acknowledged within this time fails with TransferTimeoutError. */
  readonly transferTimeoutMs: number;
  /** After SESS_TERM, the connection is closed at the latest after this time. */
  readonly closeTimeoutMs: number;
}

/** What a session needs from the CLA that owns it. */
export interface SessionHost {
  readonly config: SessionConfig;
  readonly sink: BundleSink;
  readonly channels: Record<keyof typeof TCPCL_CHANNELS, Channel>;
  readonly events: EventLog;
  readonly log: Logger;
  /** Counts a typed error by code (and as a protocol error when it is one). */
  recordError(error: Error, session: TcpclSession): void;
  /** A passive session's peer sent SESS_INIT (peer.nodeId is set): false answers SESS_TERM Busy. */
  admit(session: TcpclSession): boolean;
  sessionUp(session: TcpclSession): void;
  sessionDown(session: TcpclSession): void;
}

export type SessionRole = 'active' | 'passive';
export type SessionState = 'contact' | 'init' | 'established' | 'ending' | 'closed';

/** The XFER_REFUSE reason code of each refusal a sink can give. */
const WIRE_REFUSAL: Readonly<Record<RefusalReason, number>> = {
  'no-resources': REFUSE_REASON.NO_RESOURCES,
  'not-acceptable': REFUSE_REASON.NOT_ACCEPTABLE,
};

/** Largest extension item list accepted in SESS_INIT or a START segment. */
const MAX_EXTENSION_BYTES = 64 * 1024;
/** Transfer IDs of timed-out transfers remembered, so a late ack is not taken for an error. */
const MAX_ABANDONED = 1024;

/** Acks and refusals that may wait behind an unsettled final ack before reading pauses. */
const MAX_QUEUED_RESPONSES = 1024;
const BLOCK_BYTES = 16 * 1024;

/**
 * A transfer's data until its last segment: parts of SMALL_CHUNK bytes or more are kept as views
 * of the received chunks, smaller ones (a peer sending tiny segments) are copied into shared
 * blocks so they do not cost an object each. Joined once, when the transfer ends.
 */
class TransferData {
  length = 0;
  private parts: Uint8Array[] = [];
  private block: Uint8Array | undefined;
  private blockFill = 0;

  append(part: Uint8Array): void {
    this.length += part.length;
    if (part.length >= SMALL_CHUNK) {
      this.closeBlock();
      this.parts.push(part);
      return;
    }
    if (this.block !== undefined && this.blockFill + part.length > this.block.length) this.closeBlock();
    this.block ??= new Uint8Array(BLOCK_BYTES);
    this.block.set(part, this.blockFill);
    this.blockFill += part.length;
  }

  /** The whole transfer as one buffer. */
  join(): Uint8Array {
    this.closeBlock();
    const parts = this.parts;
    this.parts = [];
    const only = parts[0];
    // One view covering its whole buffer is handed on as is; anything else is copied once, so
    // the sink never pins a socket buffer larger than the bundle.
    if (parts.length === 1 && only !== undefined && only.byteLength === only.buffer.byteLength) return only;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  private closeBlock(): void {
    if (this.block === undefined) return;
    this.parts.push(this.block.subarray(0, this.blockFill));
    this.block = undefined;
    this.blockFill = 0;
  }
}

interface InboundTransfer {
  readonly id: bigint;
  /** Undefined once refused: the rest of a refused transfer is read and dropped. */
  data: TransferData | undefined;
  declared: number | undefined;
}

interface OutboundTransfer {
  readonly total: number;
  acked: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A response (XFER_ACK or XFER_REFUSE) in receive order; `bytes` is unset until it is known. */
interface Response {
  bytes: Uint8Array | undefined;
}

export class TcpclSession implements BundleLink {
  state: SessionState = 'contact';
  peer: PeerInfo;
  /** Negotiated: min of both proposals; 0 means no keepalives. */
  keepaliveS = 0;
  peerSegmentMru = 0;
  peerTransferMru = 0;
  /** Why the session ended (or is ending); empty while it is up. */
  closeReason = '';
  /** Resolves when SESS_INIT was exchanged; rejects with SessionClosedError if it never is. */
  readonly established: Promise<void>;
  /** Resolves when the TCP connection is gone. */
  readonly closed: Promise<void>;

  private readonly decoder: TcpclDecoder;
  private readonly responses: Response[] = [];
  private readonly outbound = new Map<bigint, OutboundTransfer>();
  private readonly abandoned = new Set<bigint>();
  private inbound: InboundTransfer | undefined;
  private inboundPending = 0;
  private paused = false;
  private framingLost = false;
  private corked = false;
  private nextTransferId = 0n;
  private termSent = false;
  private termReceived = false;
  private wasEstablished = false;
  private lastReceived = performance.now();
  private lastSent = performance.now();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private contactTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private resolveEstablished!: () => void;
  private rejectEstablished!: (error: Error) => void;
  private resolveClosed!: () => void;

  constructor(
    private readonly host: SessionHost,
    private readonly socket: Socket,
    readonly role: SessionRole,
    private readonly expectedNodeId?: string,
  ) {
    this.peer = { cla: 'tcp', address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    this.decoder = new TcpclDecoder({ segmentMru: host.config.segmentMru, maxExtensionBytes: MAX_EXTENSION_BYTES });
    this.established = new Promise<void>((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    // A passive session's promise may have no listener; its failure is reported by events.
    this.established.catch(() => undefined);
    this.closed = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.closeReason ||= `socket error: ${error.message}`;
      host.log.debug({ peer: this.peerName, err: error }, 'TCPCL socket error');
    });
    socket.on('close', () => this.onClose());

    this.handshakeTimer = setTimeout(() => this.onHandshakeTimeout(host.config.handshakeTimeoutMs), host.config.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    if (role === 'passive') {
      // Any real peer sends its contact header at once; an idle connection must not hold a
      // place for long.
      this.contactTimer = setTimeout(() => this.onHandshakeTimeout(host.config.contactTimeoutMs), host.config.contactTimeoutMs);
      this.contactTimer.unref();
    }
    // RFC 9174 4.2: the active entity sends its contact header at once; the passive one waits.
    if (role === 'active') this.write(contactHeader());
  }

  get peerName(): string {
    return `${this.peer.address}:${this.peer.port}`;
  }

  /** Bytes buffered by the decoder, complete transfers awaiting the sink, and unacked sends. */
  get load(): { buffered: number; inboundPending: number; outbound: number; paused: boolean } {
    return { buffered: this.decoder.buffered, inboundPending: this.inboundPending, outbound: this.outbound.size, paused: this.paused };
  }

  // ---- outbound ---------------------------------------------------------------------------

  send(bytes: Uint8Array): Promise<void> {
    if (this.state !== 'established') {
      return Promise.reject(new SessionClosedError(this.state === 'ending' ? `session is ending (${this.closeReason})` : `session is ${this.state}`));
    }
    if (bytes.length === 0) return Promise.reject(new EmptyBundleError('TCPCL send'));
    // The agent fragments bundles to the peer's Transfer MRU; a bigger one is its mistake.
    if (bytes.length > this.peerTransferMru) return Promise.reject(new TransferTooLargeError(bytes.length, this.peerTransferMru));
    const id = this.nextTransferId++;
    const segment = Math.min(this.peerSegmentMru, this.host.config.segmentMru);
    const promise = new Promise<void>((resolve, reject) => {
      this.outbound.set(id, { total: bytes.length, acked: 0, deadline: performance.now() + this.host.config.transferTimeoutMs, resolve, reject });
    });
    const multiSegment = bytes.length > segment;
    // All segments are written now, back to back (RFC 9174 forbids interleaving transfers;
    // writing a transfer in one go guarantees it), and leave in one writev (see write()).
    for (let offset = 0; offset < bytes.length; offset += segment) {
      const end = Math.min(bytes.length, offset + segment);
      const flags = (offset === 0 ? XFER_START : 0) | (end === bytes.length ? XFER_END : 0);
      // RFC 9174 5.2.5.1: the Transfer Length extension only where it says something new.
      this.write(xferSegmentHeader(flags, id, end - offset, offset === 0 && multiSegment ? bytes.length : undefined));
      this.write(bytes.subarray(offset, end));
    }
    return promise;
  }

  /** Ends the session cleanly: SESS_TERM, finish transfers in flight, close. */
  terminate(reason: number = TERM_REASON.UNKNOWN, why = `local SESS_TERM ${termReasonName(reason)}`): void {
    if (this.state === 'closed') return;
    this.closeReason ||= why;
    if (this.state === 'contact') {
      this.socket.destroy();
      return;
    }
    if (!this.termSent) {
      this.termSent = true;
      this.write(sessTerm(0, reason));
    }
    this.enterEnding();
    this.maybeFinish();
  }

  /** Closes the connection at once, without SESS_TERM: for connections refused before a session. */
  abort(why: string): void {
    this.closeReason ||= why;
    this.socket.destroy();
  }

  // ---- inbound bytes ------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.framingLost) return;
    this.lastReceived = performance.now();
    this.decoder.push(chunk);
    this.processBuffered();
  }

  /** Handles every complete message buffered, unless the session paused for backpressure. */
  private processBuffered(): void {
    try {
      while (!this.paused && !this.framingLost && this.state !== 'closed') {
        const item = this.decoder.next();
        if (item === undefined) return;
        this.dispatch(item);
      }
    } catch (error) {
      if (error instanceof ClaProtocolError) {
        this.fail(error);
      } else {
        // A bug here must not take the node down with it: report it loudly, drop the session.
        this.host.events.emit(CLA_EVENTS.claFault, { where: 'TCPCL session', error: String(error) });
        this.host.log.error({ err: error, peer: this.peerName }, 'TCPCL session fault');
        this.framingLost = true;
        this.closeReason ||= 'internal fault';
        this.socket.destroy();
      }
    }
  }

  private dispatch(item: ContactHeader | Message): void {
    if (item.type === 'contact') {
      this.onContactHeader();
      return;
    }
    if (!this.wasEstablished) {
      if (item.type === MSG.SESS_TERM) return this.onSessTerm(item);
      if (item.type !== MSG.SESS_INIT) throw new UnexpectedMessageError(`${MSG_NAME[item.type]} before SESS_INIT`);
      // A SESS_INIT crossing this node's SESS_TERM (Busy) is moot.
      if (this.state === 'init') this.onSessInit(item);
      return;
    }
    switch (item.type) {
      case MSG.XFER_SEGMENT:
        return this.onSegment(item);
      case MSG.XFER_ACK:
        return this.onAck(item);
      case MSG.XFER_REFUSE:
        return this.onRefuse(item);
      case MSG.KEEPALIVE:
        this.host.channels.keepalivesReceived.add(); // its arrival already counted as activity
        return;
      case MSG.SESS_TERM:
        return this.onSessTerm(item);
      case MSG.MSG_REJECT:
        this.host.channels.msgRejectsReceived.add();
        this.host.events.emit(CLA_EVENTS.tcpMsgRejected, {
          peer: this.peerName,
          header: item.rejectedHeader.toString(16).padStart(2, '0'),
          reason: rejectReasonName(item.reason),
        });
        return;
      case MSG.SESS_INIT:
        return this.rejectMessage(new UnexpectedMessageError('SESS_INIT in an established session'), MSG.SESS_INIT);
    }
  }

  private onContactHeader(): void {
    clearTimeout(this.contactTimer);
    if (this.role === 'passive') this.write(contactHeader());
    this.state = 'init';
    // Tern never sets CAN_TLS, so the negotiated Enable TLS is false whatever the peer says.
    if (this.role === 'active') this.sendSessInit();
  }

  private sendSessInit(): void {
    const { config } = this.host;
    this.write(sessInit({ keepaliveS: config.keepaliveS, segmentMru: config.segmentMru, transferMru: config.transferMru, nodeId: config.localNodeId }));
  }

  private onSessInit(m: SessInit): void {
    // Tern defines no session extensions: an unknown critical one ends the session (RFC 9174 4.8).
    for (const item of m.extensions) {
      if ((item.flags & EXT_CRITICAL) !== 0) throw new CriticalExtensionError('session', item.type);
    }
    if (m.nodeId.length === 0) throw new MalformedMessageError('SESS_INIT', 'node ID', 'empty');
    if (m.segmentMru === 0) throw new MalformedMessageError('SESS_INIT', 'segment MRU', 'zero: no segment could ever be sent');
    const expected = this.expectedNodeId;
    if (expected !== undefined && m.nodeId !== expected) throw new NodeIdMismatchError(expected, m.nodeId);
    this.peer = { ...this.peer, nodeId: m.nodeId };
    if (this.role === 'passive') {
      // Admission needs the node ID, so Busy is said here rather than after the contact header.
      if (!this.host.admit(this)) {
        this.terminate(TERM_REASON.BUSY, 'busy: session limit reached');
        return;
      }
      // The passive entity answers the active one's SESS_INIT.
      this.sendSessInit();
    }
    this.keepaliveS = Math.min(this.host.config.keepaliveS, m.keepaliveS);
    this.peerSegmentMru = m.segmentMru;
    this.peerTransferMru = m.transferMru;
    this.state = 'established';
    this.wasEstablished = true;
    clearTimeout(this.handshakeTimer);
    this.startTicker();
    this.host.sessionUp(this);
    this.resolveEstablished();
  }

  private onSegment(m: XferSegment): void {
    const start = (m.flags & XFER_START) !== 0;
    if (start) {
      const previous = this.inbound;
      if (previous?.data !== undefined) {
        // The peer began a transfer before ending the last one: that one will never end.
        this.refuseInbound(previous, REFUSE_REASON.NOT_ACCEPTABLE,
          new UnexpectedMessageError(`XFER_SEGMENT START of transfer ${m.transferId} while transfer ${previous.id} is unfinished`));
      }
      const t: InboundTransfer = { id: m.transferId, data: new TransferData(), declared: undefined };
      this.inbound = t;
      if (this.termSent || this.termReceived) {
        // RFC 9174 6.1: no new incoming transfer once the session is ending.
        this.refuseInbound(t, REFUSE_REASON.SESSION_TERMINATING);
      } else {
        this.checkTransferExtensions(t, m);
      }
    } else if (this.inbound === undefined || this.inbound.id !== m.transferId) {
      this.rejectMessage(new UnexpectedMessageError(`XFER_SEGMENT of transfer ${m.transferId} without its START`), MSG.XFER_SEGMENT);
      return;
    }
    const t = this.inbound!;
    const end = (m.flags & XFER_END) !== 0;
    if (t.data !== undefined) {
      const received = t.data.length + m.dataLength;
      if (received > this.host.config.transferMru) {
        this.refuseInbound(t, REFUSE_REASON.NO_RESOURCES, new TransferTooLargeError(received, this.host.config.transferMru));
      } else if (t.declared !== undefined && (received > t.declared || (end && received !== t.declared))) {
        this.refuseInbound(t, REFUSE_REASON.NOT_ACCEPTABLE, new TransferLengthMismatchError(t.declared, received));
      } else {
        for (const part of m.data) t.data.append(part);
      }
    }
    if (t.data === undefined) {
      // Segments of a refused transfer still in flight are read and dropped, not acked.
      if (end) this.inbound = undefined;
      return;
    }
    if (!end) {
      this.respond(xferAck(m.flags, t.id, t.data.length));
      return;
    }
    this.inbound = undefined;
    this.deliver(t.id, t.data, m.flags);
  }

  private checkTransferExtensions(t: InboundTransfer, m: XferSegment): void {
    for (const item of m.extensions) {
      if (item.type === EXT_TRANSFER_LENGTH) {
        if (item.value.length !== 8) {
          this.refuseInbound(t, REFUSE_REASON.NOT_ACCEPTABLE, new MalformedMessageError('XFER_SEGMENT', 'Transfer Length extension', `${item.value.length} bytes, expected 8`));
          return;
        }
        const declared = Buffer.from(item.value.buffer, item.value.byteOffset, 8).readBigUInt64BE(0);
        if (declared > BigInt(this.host.config.transferMru)) {
          // Refused up front, before the data floods in (RFC 9174 5.2.5.1).
          this.refuseInbound(t, REFUSE_REASON.NO_RESOURCES, new TransferTooLargeError(Number(declared), this.host.config.transferMru));
          return;
        }
        t.declared = Number(declared);
      } else if ((item.flags & EXT_CRITICAL) !== 0) {
        this.refuseInbound(t, REFUSE_REASON.EXTENSION_FAILURE, new CriticalExtensionError('transfer', item.type));
        return;
      }
    }
  }

  /** Hands a complete transfer to the sink; its final XFER_ACK waits for the sink's verdict. */
  private deliver(id: bigint, data: TransferData, flags: number): void {
    const length = data.length;
    const bytes = data.join();
    const slot: Response = { bytes: undefined };
    this.responses.push(slot);
    this.inboundPending++;
    this.host.channels.inboundPending.add(1);
    this.pauseIfOverloaded();
    let verdict: Promise<void>;
    try {
      verdict = this.host.sink.accept(bytes, this.peer);
    } catch (error) {
      verdict = Promise.reject(error);
    }
    verdict.then(
      () => {
        slot.bytes = xferAck(flags, id, length);
        this.host.channels.bundlesIn.add();
        this.host.channels.bytesIn.add(length);
        this.settled();
      },
      (error: unknown) => {
        const reason = error instanceof BundleRefusedError ? WIRE_REFUSAL[error.reason] : REFUSE_REASON.UNKNOWN;
        slot.bytes = xferRefuse(reason, id);
        this.host.channels.refusalsSent.add();
        this.host.events.emit(CLA_EVENTS.tcpRefusedInbound, {
          peer: this.peerName, transferId: String(id), reason: refuseReasonName(reason), error: String(error),
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
    this.socket.pause();
    this.host.channels.backpressurePauses.add();
    this.host.events.emit(CLA_EVENTS.tcpBackpressure, { peer: this.peerName, pending: this.inboundPending });
  }

  private overloaded(): boolean {
    return this.inboundPending >= this.host.config.maxInboundPending || this.responses.length >= MAX_QUEUED_RESPONSES;
  }

  private settled(): void {
    this.inboundPending--;
    this.host.channels.inboundPending.add(-1);
    this.flushResponses();
    if (this.paused && !this.overloaded() && this.state !== 'closed') {
      this.paused = false;
      // Nothing could arrive while paused; the peer is not silent, this node was not listening.
      this.lastReceived = performance.now();
      this.processBuffered();
      if (!this.paused) this.socket.resume();
    }
    this.maybeFinish();
  }

  private respond(bytes: Uint8Array): void {
    if (this.responses.length === 0) {
      this.write(bytes);
    } else {
      this.responses.push({ bytes });
      this.pauseIfOverloaded();
    }
  }

  private flushResponses(): void {
    while (this.responses.length > 0 && this.responses[0]!.bytes !== undefined) {
      this.write(this.responses.shift()!.bytes!);
    }
  }

  private refuseInbound(t: InboundTransfer, reason: number, error?: ClaProtocolError): void {
    t.data = undefined;
    if (error) this.host.recordError(error, this);
    this.respond(xferRefuse(reason, t.id));
    this.host.channels.refusalsSent.add();
    this.host.events.emit(CLA_EVENTS.tcpRefusedInbound, {
      peer: this.peerName, transferId: String(t.id), reason: refuseReasonName(reason), error: error?.code ?? 'none',
    });
  }

  private onAck(m: XferAck): void {
    const t = this.outbound.get(m.transferId);
    if (t === undefined) {
      if (this.abandoned.has(m.transferId)) {
        if ((m.flags & XFER_END) !== 0) this.abandoned.delete(m.transferId);
        return;
      }
      this.rejectMessage(new UnexpectedMessageError(`XFER_ACK for transfer ${m.transferId}, which is not in flight`), MSG.XFER_ACK);
      return;
    }
    const end = (m.flags & XFER_END) !== 0;
    if (m.acknowledged < t.acked || m.acknowledged > t.total || (end && m.acknowledged !== t.total)) {
      this.outbound.delete(m.transferId);
      const error = new MalformedMessageError('XFER_ACK', 'acknowledged length', `${m.acknowledged} for a transfer of ${t.total} acknowledged up to ${t.acked}`);
      this.host.recordError(error, this);
      t.reject(error);
      return;
    }
    t.acked = m.acknowledged;
    if (!end) return;
    this.outbound.delete(m.transferId);
    this.host.channels.bundlesOut.add();
    this.host.channels.bytesOut.add(t.total);
    t.resolve();
    this.maybeFinish();
  }

  private onRefuse(m: XferRefuse): void {
    const t = this.outbound.get(m.transferId);
    if (t === undefined) {
      if (this.abandoned.delete(m.transferId)) return;
      this.rejectMessage(new UnexpectedMessageError(`XFER_REFUSE for transfer ${m.transferId}, which is not in flight`), MSG.XFER_REFUSE);
      return;
    }
    this.outbound.delete(m.transferId);
    this.host.channels.refusalsReceived.add();
    const name = refuseReasonName(m.reason);
    this.host.events.emit(CLA_EVENTS.tcpPeerRefused, { peer: this.peerName, transferId: String(m.transferId), reason: name });
    t.reject(new TransferRefusedError(m.reason, name));
    this.maybeFinish();
  }

  private onSessTerm(m: SessTerm): void {
    const reply = (m.flags & TERM_REPLY) !== 0;
    if (reply && !this.termSent) {
      this.host.recordError(new UnexpectedMessageError('SESS_TERM with REPLY set, but no SESS_TERM was sent'), this);
    }
    this.closeReason ||= `peer SESS_TERM ${termReasonName(m.reason)}`;
    // Acknowledge a SESS_TERM this node did not ask for; if both sent one at once
    // ("terminations passing in the night"), neither needs a reply.
    if (!this.termSent) {
      this.termSent = true;
      this.write(sessTerm(TERM_REPLY, m.reason));
    }
    this.termReceived = true;
    this.enterEnding();
    this.maybeFinish();
  }

  /** A well-formed but unexpected message: MSG_REJECT it and go on. */
  private rejectMessage(error: ClaProtocolError, messageType: number): void {
    this.host.recordError(error, this);
    this.write(msgReject(REJECT_REASON.UNEXPECTED, messageType));
    this.host.channels.msgRejectsSent.add();
  }

  /** A violation after which the stream cannot be trusted: answer as RFC 9174 says, then close. */
  private fail(error: ClaProtocolError): void {
    this.framingLost = true;
    this.host.recordError(error, this);
    this.closeReason ||= `${error.code}: ${error.message}`;
    if (error instanceof ContactHeaderError) {
      // Not a TCPCL peer at all: close without a word (RFC 9174 4.3).
      this.socket.destroy();
      return;
    }
    if (error instanceof VersionMismatchError) {
      if (this.role === 'passive') this.write(contactHeader());
      this.sendFinalTerm(TERM_REASON.VERSION_MISMATCH);
    } else if (error instanceof UnknownMessageTypeError) {
      // The message's length is unknown, so nothing after it can be framed (RFC 9174 5.1.2).
      this.write(msgReject(REJECT_REASON.TYPE_UNKNOWN, error.messageType));
      this.host.channels.msgRejectsSent.add();
    } else if (error instanceof SegmentTooLargeError) {
      this.sendFinalTerm(TERM_REASON.RESOURCE_EXHAUSTION);
    } else {
      this.sendFinalTerm(TERM_REASON.CONTACT_FAILURE);
    }
    this.enterEnding();
    this.socket.end();
  }

  private sendFinalTerm(reason: number): void {
    if (this.termSent) return;
    this.termSent = true;
    this.write(sessTerm(0, reason));
  }

  private enterEnding(): void {
    if (this.state === 'closed') return;
    this.state = 'ending';
    if (this.closeTimer === undefined) {
      this.closeTimer = setTimeout(() => {
        this.closeReason ||= 'close timeout';
        this.socket.destroy();
      }, this.host.config.closeTimeoutMs);
      this.closeTimer.unref();
    }
  }

  /** Once both SESS_TERMs are exchanged and nothing is in flight, close the connection. */
  private maybeFinish(): void {
    if (this.state !== 'ending' || !this.termSent || !this.termReceived) return;
    if (this.inbound?.data !== undefined || this.inboundPending > 0 || this.outbound.size > 0) return;
    this.socket.end();
  }

  // ---- timers -------------------------------------------------------------------------------

  private onHandshakeTimeout(timeoutMs: number): void {
    if (this.state !== 'contact' && this.state !== 'init') return;
    const stage = this.state === 'contact' ? 'contact header' : 'SESS_INIT';
    this.host.recordError(new HandshakeTimeoutError(timeoutMs, stage), this);
    this.closeReason ||= `handshake timeout (${stage})`;
    this.socket.destroy();
  }

  private startTicker(): void {
    const keepaliveMs = this.keepaliveS * 1000;
    const period = Math.max(50, Math.min(keepaliveMs > 0 ? keepaliveMs / 4 : 1000, this.host.config.transferTimeoutMs / 4, 1000));
    this.ticker = setInterval(() => this.onTick(keepaliveMs), period);
    this.ticker.unref();
  }

  private onTick(keepaliveMs: number): void {
    const now = performance.now();
    if (keepaliveMs > 0 && this.state !== 'closed') {
      if (now - this.lastSent >= keepaliveMs) this.write(KEEPALIVE);
      // While paused the socket is not read, so silence proves nothing.
      const silentMs = now - this.lastReceived;
      if (!this.paused && !this.termSent && silentMs >= 2 * keepaliveMs) {
        this.host.channels.keepaliveTimeouts.add();
        this.host.recordError(new IdleTimeoutError(silentMs), this);
        this.host.events.emit(CLA_EVENTS.tcpKeepaliveTimeout, { peer: this.peerName, silentMs: Math.round(silentMs) });
        this.terminate(TERM_REASON.IDLE_TIMEOUT, 'idle timeout: no keepalive');
      }
    }
    for (const [id, t] of this.outbound) {
      if (t.deadline > now) break; // insertion order is deadline order
      this.outbound.delete(id);
      if (this.abandoned.size >= MAX_ABANDONED) this.abandoned.delete(this.abandoned.values().next().value!);
      this.abandoned.add(id);
      this.host.channels.transferTimeouts.add();
      this.host.events.emit(CLA_EVENTS.tcpTransferTimeout, { peer: this.peerName, transferId: String(id), timeoutMs: this.host.config.transferTimeoutMs });
      t.reject(new TransferTimeoutError(this.host.config.transferTimeoutMs));
    }
    this.maybeFinish();
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /**
   * Everything written in one turn of the event loop (a transfer's segments, the acks for a
   * chunk's worth of segments, the final acks of bundles the store committed together) leaves
   * in one writev: the socket is corked at the first write and uncorked once the turn's
   * callbacks and promise reactions have run.
   */
  private write(bytes: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(bytes);
    this.lastSent = performance.now();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.contactTimer);
    clearTimeout(this.closeTimer);
    clearInterval(this.ticker);
    this.closeReason ||= 'connection closed by peer';
    const error = new SessionClosedError(this.closeReason);
    for (const t of this.outbound.values()) t.reject(error);
    this.outbound.clear();
    this.inbound = undefined;
    this.rejectEstablished(error);
    if (this.wasEstablished) this.host.sessionDown(this);
    this.resolveClosed();
  }
}
