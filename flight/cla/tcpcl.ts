// The TCPCLv4 convergence layer of one node: a listener for passive sessions, active connects
// to neighbours, the set of live sessions, and the telemetry they share. TLS is offered when the
// config has a `tls` section (tcpcl-tls.ts); without it CAN_TLS is clear, as RFC 9174 allows.
// Which passive connections the listener keeps is Admission's call (tcpcl-admission.ts).
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleSink } from './cla.js';
import { TCP_ADMISSION_DEFAULTS } from './config.js';
import { CLA_EVENTS, TCPCL_CHANNELS, type TcpclChannels } from './dictionary.js';
import { ClaProtocolError, HandshakeTimeoutError, SessionClosedError } from './errors.js';
import { Admission, type AdmissionLimits } from './tcpcl-admission.js';
import { TcpclSession, type SessionConfig, type SessionHost } from './tcpcl-session.js';

export interface TcpClaOptions extends Omit<SessionConfig, 'contactTimeoutMs'>, Partial<AdmissionLimits> {
  /** Absent: the default, or handshakeTimeoutMs if that is shorter. */
  readonly contactTimeoutMs?: number;
  /** Node IDs of the configured neighbours (`ipn:2.0`): each has a passive session slot reserved. */
  readonly neighbours?: readonly string[];
  readonly sink: BundleSink;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
  /** Called for every session that comes up, active or passive: the agent's route to that node. */
  readonly onSession?: (session: TcpclSession) => void;
}

export class TcpCla implements SessionHost {
  readonly config: SessionConfig;
  readonly sink: BundleSink;
  readonly channels: TcpclChannels;
  readonly events: EventLog;
  readonly log: Logger;
  /** Errors seen, by code: the detail behind `cla.tcp.protocolErrors`. */
  readonly errorCounts = new Map<string, number>();
  private readonly live = new Set<TcpclSession>();
  private readonly admission: Admission<TcpclSession>;
  private server: Server | undefined;

  constructor(private readonly options: TcpClaOptions) {
    this.config = { ...options, contactTimeoutMs: options.contactTimeoutMs ?? Math.min(TCP_ADMISSION_DEFAULTS.contactTimeoutMs, options.handshakeTimeoutMs) };
    const maxPendingConnections = options.maxPendingConnections ?? TCP_ADMISSION_DEFAULTS.maxPendingConnections;
    this.admission = new Admission({
      maxSessions: options.maxSessions ?? TCP_ADMISSION_DEFAULTS.maxSessions,
      maxPendingConnections,
      maxPendingPerAddress: options.maxPendingPerAddress ?? Math.min(TCP_ADMISSION_DEFAULTS.maxPendingPerAddress, maxPendingConnections),
    }, new Set(options.neighbours));
    this.sink = options.sink;
    this.events = options.events;
    this.log = options.log;
    this.channels = options.tlm.defineAll(TCPCL_CHANNELS);
  }

  /** Listens for passive sessions; port 0 picks a free port (see the returned address). */
  listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((socket) => this.adopt(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (error) => {
          this.events.emit(CLA_EVENTS.claFault, { where: 'TCPCL listener', error: error.message });
          this.log.error({ err: error }, 'TCPCL listener error');
        });
        const address = server.address() as AddressInfo;
        this.events.emit(CLA_EVENTS.tcpListening, { address: address.address, port: address.port });
        resolve(address);
      });
    });
  }

  /**
   * Opens an active session to host:port; resolves once SESS_INIT has been exchanged. With
   * `expectedNodeId`, a peer announcing another node ID is refused (SESS_TERM Contact Failure).
   */
  connect(host: string, port: number, expectedNodeId?: string): Promise<TcpclSession> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      const onError = (error: Error): void => {
        this.channels.connectFailures.add();
        this.events.emit(CLA_EVENTS.tcpConnectFailed, { peer: `${host}:${port}`, error: error.message });
        reject(new SessionClosedError(`connect to ${host}:${port} failed: ${error.message}`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        const session = this.start(socket, 'active', expectedNodeId);
        session.established.then(
          () => resolve(session),
          (error: Error) => {
            this.channels.connectFailures.add();
            this.events.emit(CLA_EVENTS.tcpConnectFailed, { peer: `${host}:${port}`, error: error.message });
            reject(error);
          },
        );
      });
    });
  }

  /** Established sessions, both roles. */
  sessions(): TcpclSession[] {
    return [...this.live].filter((s) => s.state === 'established');
  }

  /** The established session with the node that announced `nodeId`, if any. */
  sessionTo(nodeId: string): TcpclSession | undefined {
    return this.sessions().find((s) => s.peer.nodeId === nodeId);
  }

  /** Ends every session with SESS_TERM and stops listening; resolves when all are closed. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closing = [...this.live].map((s) => {
      s.terminate();
      return s.closed;
    });
    await Promise.all(closing);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- SessionHost --------------------------------------------------------------------------

  recordError(error: Error, session: TcpclSession): void {
    const code = (error as { code?: unknown }).code;
    const key = typeof code === 'string' ? code : error.name;
    this.errorCounts.set(key, (this.errorCounts.get(key) ?? 0) + 1);
    if (error instanceof HandshakeTimeoutError) {
      (error.stage === 'contact header' && session.role === 'passive' ? this.channels.contactTimeouts : this.channels.handshakeTimeouts).add();
    }
    if (error instanceof ClaProtocolError) {
      this.channels.protocolErrors.add();
      this.events.emit(CLA_EVENTS.tcpProtocolError, { peer: session.peerName, code: key, error: error.message });
    }
    this.log.debug({ peer: session.peerName, code: key, err: error }, 'TCPCL error');
  }

  admit(session: TcpclSession): boolean {
    const nodeId = session.peer.nodeId!;
    const slot = this.admission.claim(session, nodeId);
    if (slot === undefined) {
      this.channels.sessionsBusy.add();
      this.events.emit(CLA_EVENTS.tcpBusy, { nodeId, peer: session.peerName, sessions: this.admission.generalInUse });
      return false;
    }
    this.channels.sessionsReserved.set(this.admission.reservedInUse);
    return true;
  }

  sessionUp(session: TcpclSession): void {
    this.leavePending(session);
    this.channels.sessionsOpened.add();
    this.channels.sessionsActive.add(1);
    this.events.emit(CLA_EVENTS.tcpSessionUp, {
      role: session.role,
      nodeId: session.peer.nodeId ?? '?',
      peer: session.peerName,
      keepaliveS: session.keepaliveS,
      segmentMru: session.peerSegmentMru,
      transferMru: session.peerTransferMru,
      tls: session.secure,
    });
    this.options.onSession?.(session);
  }

  sessionDown(session: TcpclSession): void {
    this.channels.sessionsActive.add(-1);
    this.channels.sessionsClosed.add();
    this.events.emit(CLA_EVENTS.tcpSessionDown, { nodeId: session.peer.nodeId ?? '?', peer: session.peerName, reason: session.closeReason });
  }

  // ---- internals ----------------------------------------------------------------------------

  private adopt(socket: Socket): void {
    const session = this.start(socket, 'passive');
    const entry = this.admission.enter(session, session.peer.address);
    if (!entry.admitted) {
      this.refuse(session, this.channels.refusedPerAddress, 'per-address limit');
      return;
    }
    if (entry.evict !== undefined) this.refuse(entry.evict, this.channels.evictedPending, 'evicted: pending pool full');
    this.channels.pendingConnections.set(this.admission.pending);
    void session.closed.then(() => {
      this.leavePending(session);
      this.admission.release(session, session.peer.nodeId);
      this.channels.sessionsReserved.set(this.admission.reservedInUse);
    });
  }

  private refuse(session: TcpclSession, counter: Channel, reason: string): void {
    counter.add();
    this.events.emit(CLA_EVENTS.tcpConnectionRefused, { peer: session.peerName, reason, pending: this.admission.pending });
    session.abort(reason);
  }

  private leavePending(session: TcpclSession): void {
    this.admission.leavePending(session);
    this.channels.pendingConnections.set(this.admission.pending);
  }

  private start(socket: Socket, role: 'active' | 'passive', expectedNodeId?: string): TcpclSession {
    const session = new TcpclSession(this, socket, role, expectedNodeId);
    this.live.add(session);
    void session.closed.then(() => this.live.delete(session));
    return session;
  }
}
