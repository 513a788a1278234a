// One TCPCLv4 session (RFC 9174) over one TCP connection, active (this node connected) or
// passive (it accepted). The session frames the byte stream with the incremental decoder, runs
// the contact header and SESS_INIT handshake (tcpcl-handshake.ts), hands transfers to its parts
// as the data flows (tcpcl-transfer-in.ts, tcpcl-transfer-out.ts), keeps itself alive
// (tcpcl-keepalive.ts), and ends with SESS_TERM. It never decodes a bundle.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleLink, BundleSink, PeerInfo } from './cla.js';
import { CLA_EVENTS, type TcpclChannels } from './dictionary.js';
import {
  ClaProtocolError,
  ContactHeaderError,
  HandshakeTimeoutError,
  SegmentTooLargeError,
  SessionClosedError,
  UnexpectedMessageError,
  UnknownMessageTypeError,
  VersionMismatchError,
} from './errors.js';
import { TcpclDecoder, type ContactHeader, type Message, type SessInit, type SessTerm } from './tcpcl-decoder.js';
import { localSessInit, negotiate } from './tcpcl-handshake.js';
import { KeepaliveClock } from './tcpcl-keepalive.js';
import { InboundTransfers } from './tcpcl-transfer-in.js';
import { OutboundTransfers } from './tcpcl-transfer-out.js';
import { TlsHandshakeError, TlsNodeIdError, TlsRequiredError, certificateUris, startTls, tlsRequiredFor, type TcpclTls } from './tcpcl-tls.js';
import { CONTACT_CAN_TLS, MSG, MSG_NAME, REJECT_REASON, TERM_REASON, TERM_REPLY, contactHeader, msgReject, rejectReasonName, sessTerm, termReasonName } from './tcpcl-wire.js';

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
  /** TLS (RFC 9174 4.4; tcpcl-tls.ts). Absent: CAN_TLS clear and plain TCP, as before. */
  readonly tls?: TcpclTls;
}

/** What a session needs from the CLA that owns it. */
export interface SessionHost {
  readonly config: SessionConfig;
  readonly sink: BundleSink;
  readonly channels: TcpclChannels;
  readonly events: EventLog;
  readonly log: Logger;
  /** Counts a typed error by code (and as a protocol error when it is one). */
  recordError(error: Error, session: TcpclSession): void;
  /** A passive session's peer sent SESS_INIT (peer.nodeId is set): false answers SESS_TERM Busy. */
  admit(session: TcpclSession): boolean;
  sessionUp(session: TcpclSession): void;
  sessionDown(session: TcpclSession): void;
}

/** What a session's parts (transfers in and out, keepalive) share of it. */
export interface SessionIo {
  readonly config: SessionConfig;
  readonly channels: TcpclChannels;
  readonly events: EventLog;
  peerName(): string;
  /** Counts a typed error against the peer. */
  record(error: Error): void;
  write(bytes: Uint8Array): void;
  /** A well-formed but unexpected message: MSG_REJECT it and go on. */
  rejectMessage(error: ClaProtocolError, messageType: number): void;
  /** Something in flight finished: an ending session closes once nothing is. */
  maybeFinish(): void;
}

export type SessionRole = 'active' | 'passive';
/** Messages handled before the event loop gets a turn (processBuffered). */
const MESSAGES_PER_TURN = 16;

export type SessionState = 'contact' | 'tls' | 'init' | 'established' | 'ending' | 'closed';

/** Largest extension item list accepted in SESS_INIT or a START segment. */
const MAX_EXTENSION_BYTES = 64 * 1024;

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
  private readonly inbound: InboundTransfers;
  private readonly outbound: OutboundTransfers;
  private readonly keepalive: KeepaliveClock;
  private framingLost = false;
  /** The TLS layer, once both sides offered it and its handshake succeeded. */
  private tls: TLSSocket | undefined;
  private corked = false;
  /** A turn of the event loop granted before handling more of what is buffered (processBuffered). */
  private continuation: NodeJS.Immediate | undefined;
  private termSent = false;
  private termReceived = false;
  private wasEstablished = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private contactTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private resolveEstablished!: () => void;
  private rejectEstablished!: (error: Error) => void;
  private resolveClosed!: () => void;

  constructor(
    private readonly host: SessionHost,
    private socket: Socket,
    readonly role: SessionRole,
    private readonly expectedNodeId?: string,
  ) {
    this.peer = { cla: 'tcp', address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    this.decoder = new TcpclDecoder({ segmentMru: host.config.segmentMru, maxExtensionBytes: MAX_EXTENSION_BYTES });
    const io: SessionIo = {
      config: host.config,
      channels: host.channels,
      events: host.events,
      peerName: () => this.peerName,
      record: (error) => host.recordError(error, this),
      write: (bytes) => this.write(bytes),
      rejectMessage: (error, messageType) => this.rejectMessage(error, messageType),
      maybeFinish: () => this.maybeFinish(),
    };
    this.outbound = new OutboundTransfers(io);
    this.inbound = new InboundTransfers(io, {
      sink: host.sink,
      peer: () => this.peer,
      ending: () => this.termSent || this.termReceived,
      closed: () => this.state === 'closed',
      pauseReading: () => this.socket.pause(),
      resumeReading: () => this.resumeReading(),
    });
    this.keepalive = new KeepaliveClock(io, {
      closed: () => this.state === 'closed',
      paused: () => this.inbound.paused,
      termSent: () => this.termSent,
      terminate: (reason, why) => this.terminate(reason, why),
      tick: (now) => this.tick(now),
    });
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
    this.listen(socket);
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
    if (role === 'active') this.write(contactHeader(this.localFlags()));
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', (error) => {
      this.closeReason ||= `socket error: ${error.message}`;
      this.host.log.debug({ peer: this.peerName, err: error }, 'TCPCL socket error');
    });
  }

  private localFlags(): number {
    return this.host.config.tls ? CONTACT_CAN_TLS : 0;
  }

  /** The session runs inside TLS (both contact headers carried CAN_TLS). */
  get secure(): boolean {
    return this.tls !== undefined;
  }

  get peerName(): string {
    return `${this.peer.address}:${this.peer.port}`;
  }

  /** Bytes buffered by the decoder, complete transfers awaiting the sink, and unacked sends. */
  get load(): { buffered: number; inboundPending: number; outbound: number; paused: boolean } {
    return { buffered: this.decoder.buffered, inboundPending: this.inbound.pending, outbound: this.outbound.size, paused: this.inbound.paused };
  }

  send(bytes: Uint8Array): Promise<void> {
    if (this.state !== 'established') {
      return Promise.reject(new SessionClosedError(this.state === 'ending' ? `session is ending (${this.closeReason})` : `session is ${this.state}`));
    }
    return this.outbound.send(bytes, this.peerSegmentMru, this.peerTransferMru);
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

  private readonly onData = (chunk: Buffer): void => {
    if (this.framingLost) return;
    this.keepalive.received();
    this.decoder.push(chunk);
    this.processBuffered();
  };

  /**
   * Handles every complete message buffered, unless the session paused for backpressure, in
   * slices of MESSAGES_PER_TURN with a turn of the event loop between them: the bundles of one
   * slice then start their group commit (the store flushes on the next turn) while the next slice
   * is decoded and validated, and their XFER_ACKs leave as soon as that commit is durable, so a
   * peer's window refills while the node works on the rest (acknowledgements pipelined with group
   * commits, rather than one commit per window). Reading stops meanwhile, so the buffer holds at
   * most what one read brought.
   */
  private processBuffered(): void {
    if (this.continuation !== undefined) return;
    try {
      let handled = 0;
      while (!this.inbound.paused && !this.framingLost && this.state !== 'closed' && this.state !== 'tls') {
        if (handled === MESSAGES_PER_TURN && this.decoder.buffered > 0) {
          this.socket.pause();
          this.continuation = setImmediate(this.continue);
          return;
        }
        const item = this.decoder.next();
        if (item === undefined) return;
        this.dispatch(item);
        handled++;
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

  /** Backpressure lifted: nothing could arrive while paused, so the peer was not silent. */
  private readonly continue = (): void => {
    this.continuation = undefined;
    if (this.state === 'closed') return;
    this.processBuffered();
    if (this.continuation === undefined && !this.inbound.paused) this.socket.resume();
  };

  private resumeReading(): void {
    this.keepalive.received();
    this.processBuffered();
    if (!this.inbound.paused && this.continuation === undefined) this.socket.resume();
  }

  private dispatch(item: ContactHeader | Message): void {
    if (item.type === 'contact') {
      this.onContactHeader(item.flags);
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
        return this.inbound.onSegment(item);
      case MSG.XFER_ACK:
        return this.outbound.onAck(item);
      case MSG.XFER_REFUSE:
        return this.outbound.onRefuse(item);
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

  // ---- handshake ----------------------------------------------------------------------------

  private onContactHeader(peerFlags: number): void {
    clearTimeout(this.contactTimer);
    if (this.role === 'passive') this.write(contactHeader(this.localFlags()));
    this.state = 'init';
    const tls = this.host.config.tls;
    // Enable TLS is negotiated true only when both sides set CAN_TLS (RFC 9174 4.3).
    if (tls && (peerFlags & CONTACT_CAN_TLS) !== 0) {
      this.beginTls(tls);
      return;
    }
    if (tls?.required) {
      this.host.recordError(new TlsRequiredError(), this);
      this.terminate(TERM_REASON.CONTACT_FAILURE, 'TLS required: the peer does not offer it');
      return;
    }
    if (this.role === 'active') this.write(localSessInit(this.host.config));
  }

  /**
   * Continues the session inside TLS from the byte after the contact headers. Nothing else may
   * arrive before the handshake: the active side waits for the passive side's contact header
   * before its ClientHello, and the passive side for the ClientHello.
   */
  private beginTls(tls: TcpclTls): void {
    if (this.decoder.buffered > 0) throw new UnexpectedMessageError('bytes after the contact header before the TLS handshake');
    this.state = 'tls';
    const raw = this.socket;
    raw.off('data', this.onData);
    startTls(raw, this.role, tls).then((secure) => {
      if (this.state !== 'tls') return secure.destroy();
      this.tls = secure;
      this.socket = secure;
      this.listen(secure);
      this.state = 'init';
      if (this.role === 'active') this.write(localSessInit(this.host.config));
      this.processBuffered();
    }, (error: Error) => {
      const failed = new TlsHandshakeError(error);
      this.host.recordError(failed, this);
      this.closeReason ||= failed.message;
      raw.destroy();
    });
  }

  private onSessInit(m: SessInit): void {
    const negotiated = negotiate(this.host.config, m, this.expectedNodeId);
    if (this.tls) {
      const named = certificateUris(this.tls.getPeerCertificate());
      if (!named.includes(m.nodeId)) throw new TlsNodeIdError(m.nodeId, named);
    } else if (tlsRequiredFor(this.host.config.tls, m.nodeId)) {
      throw new TlsRequiredError(m.nodeId);
    }
    this.peer = { ...this.peer, nodeId: negotiated.nodeId };
    if (this.role === 'passive') {
      // Admission needs the node ID, so Busy is said here rather than after the contact header.
      if (!this.host.admit(this)) {
        this.terminate(TERM_REASON.BUSY, 'busy: session limit reached');
        return;
      }
      // The passive entity answers the active one's SESS_INIT.
      this.write(localSessInit(this.host.config));
    }
    this.keepaliveS = negotiated.keepaliveS;
    this.peerSegmentMru = negotiated.peerSegmentMru;
    this.peerTransferMru = negotiated.peerTransferMru;
    this.state = 'established';
    this.wasEstablished = true;
    clearTimeout(this.handshakeTimer);
    this.keepalive.start(this.keepaliveS);
    this.host.sessionUp(this);
    this.resolveEstablished();
  }

  private onHandshakeTimeout(timeoutMs: number): void {
    if (this.state !== 'contact' && this.state !== 'tls' && this.state !== 'init') return;
    const stage = this.state === 'contact' ? 'contact header' : this.state === 'tls' ? 'TLS handshake' : 'SESS_INIT';
    this.host.recordError(new HandshakeTimeoutError(timeoutMs, stage), this);
    this.closeReason ||= `handshake timeout (${stage})`;
    this.socket.destroy();
  }

  // ---- termination --------------------------------------------------------------------------

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
    if (this.inbound.busy || this.outbound.size > 0) return;
    this.socket.end();
  }

  private tick(now: number): void {
    this.outbound.expire(now);
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
    this.keepalive.sent();
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
    clearImmediate(this.continuation);
    this.keepalive.stop();
    this.closeReason ||= 'connection closed by peer';
    const error = new SessionClosedError(this.closeReason);
    this.outbound.failAll(error);
    this.inbound.drop();
    this.rejectEstablished(error);
    if (this.wasEstablished) this.host.sessionDown(this);
    this.resolveClosed();
  }
}
