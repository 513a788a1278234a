// Shared by the CLA tests: a node's worth of telemetry around a CLA, a sink whose verdicts the
// test controls, a raw TCP peer that speaks hand-built bytes, a flood of idle connections, and
// the RFC 9173 bundles as realistic opaque payloads.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BundleSink, PeerInfo } from '../../flight/cla/cla.js';
import { TcpCla, type TcpClaOptions } from '../../flight/cla/tcpcl.js';
import { TcpclDecoder, type ContactHeader, type Message } from '../../flight/cla/tcpcl-decoder.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { DEFAULT_WAIT_MS, until } from '../support/wait.js';

export const silent = createRootLogger({ level: 'silent' });

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/bpv7/rfc9173-appendix-a.json', import.meta.url));

/** The four RFC 9173 Appendix A bundles, as bytes. */
export function rfc9173Bundles(): Uint8Array[] {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: Array<{ bundle_hex: string }> };
  return file.vectors.map((v) => Uint8Array.from(Buffer.from(v.bundle_hex, 'hex')));
}

export interface Accepted {
  bytes: Uint8Array;
  from: PeerInfo;
  resolve(): void;
  reject(error: Error): void;
}

/** A sink that resolves at once (`auto`) or holds every bundle until the test settles it. */
export class TestSink implements BundleSink {
  readonly accepted: Accepted[] = [];
  /** Bundles handed over and not settled yet; the maximum seen is the backpressure bound. */
  pending = 0;
  maxPending = 0;

  constructor(public mode: 'auto' | 'hold' | ((bytes: Uint8Array) => Promise<void>) = 'auto') {}

  accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    const done = (): void => {
      this.pending--;
    };
    let promise: Promise<void>;
    if (typeof this.mode === 'function') {
      promise = this.mode(bytes);
      this.accepted.push({ bytes, from, resolve: () => undefined, reject: () => undefined });
    } else if (this.mode === 'auto') {
      promise = Promise.resolve();
      this.accepted.push({ bytes, from, resolve: () => undefined, reject: () => undefined });
    } else {
      promise = new Promise<void>((resolve, reject) => this.accepted.push({ bytes, from, resolve, reject }));
    }
    return promise.finally(done);
  }

  /** Resolves once `n` bundles have arrived in total. */
  waitFor(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return until(() => this.accepted.length >= n, `${n} bundles at the sink`, timeoutMs);
  }
}

export interface TestNode {
  tlm: TelemetryRegistry;
  events: EventRecord[];
  eventLog: EventLog;
  value(channel: string): number;
}

export function testNode(): TestNode {
  const tlm = new TelemetryRegistry();
  const eventLog = new EventLog(silent, () => Date.now() * 1000);
  const events: EventRecord[] = [];
  eventLog.onEvent((e) => events.push(e));
  return {
    tlm,
    events,
    eventLog,
    value: (channel) => {
      const c = tlm.get(channel);
      if (!c) throw new Error(`no channel ${channel}`);
      return c.value;
    },
  };
}

export interface TcpNode extends TestNode {
  cla: TcpCla;
  sink: TestSink;
  port: number;
}

export type TcpNodeOptions = Partial<Omit<TcpClaOptions, 'sink' | 'tlm' | 'events' | 'log'>> & { sink?: TestSink; listen?: boolean };

/** A TcpCla with short test timings, listening on 127.0.0.1 on a free port. */
export async function tcpNode(options: TcpNodeOptions = {}): Promise<TcpNode> {
  const node = testNode();
  const sink = options.sink ?? new TestSink();
  const cla = new TcpCla({
    localNodeId: 'ipn:1.0',
    keepaliveS: 10,
    segmentMru: 64 * 1024,
    transferMru: 1 << 20,
    maxInboundPending: 4,
    maxSessions: 8,
    handshakeTimeoutMs: 2000,
    transferTimeoutMs: 5000,
    closeTimeoutMs: 1000,
    ...options,
    sink,
    tlm: node.tlm,
    events: node.eventLog,
    log: silent,
  });
  const port = options.listen === false ? 0 : (await cla.listen('127.0.0.1', 0)).port;
  return { ...node, cla, sink, port };
}

/**
 * A TCP client that writes whatever bytes the test builds and records everything that comes
 * back, raw and decoded (a decoder with generous limits frames the responses).
 */
export class RawPeer {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  readonly messages: Array<ContactHeader | Message> = [];
  decodeError: Error | undefined;
  ended = false;
  closed = false;
  private readonly decoder = new TcpclDecoder({ segmentMru: 1 << 30, maxExtensionBytes: 1 << 20 });

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      if (this.decodeError) return;
      this.decoder.push(chunk);
      try {
        for (let m = this.decoder.next(); m !== undefined; m = this.decoder.next()) this.messages.push(m);
      } catch (error) {
        this.decodeError = error as Error;
      }
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes.replace(/\s+/g, ''), 'hex') : bytes);
  }

  /** Writes one byte per event-loop turn, so the far end sees one-byte chunks. */
  async writeSlowly(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      this.socket.write(bytes.subarray(i, i + 1));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  of<T extends number>(type: T): Array<Extract<Message, { type: T }>> {
    return this.messages.filter((m) => m.type === type) as Array<Extract<Message, { type: T }>>;
  }

  waitFor(what: string, predicate: () => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return until(predicate, what, timeoutMs);
  }

  waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return until(() => this.closed, 'the connection to close', timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * `count` connections that never send a byte; each one the far end closes is opened again, as
 * an attacker would. A connection that could not be made is not retried (the listener is gone).
 */
export class IdleFlood {
  opened = 0;
  closedByPeer = 0;
  private readonly sockets = new Set<Socket>();
  private running = true;

  constructor(private readonly port: number, count: number) {
    for (let i = 0; i < count; i++) this.open();
  }

  private open(): void {
    const socket = connect({ host: '127.0.0.1', port: this.port });
    this.sockets.add(socket);
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      this.opened++;
    });
    socket.on('error', () => undefined); // resets are what it provokes; 'close' follows
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (!this.running || !connected) return;
      this.closedByPeer++;
      this.open();
    });
  }

  stop(): void {
    this.running = false;
    for (const socket of this.sockets) socket.destroy();
  }
}
