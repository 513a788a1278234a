// UDP convergence layer, as ION-DTN's udpcli/udpclo: one bundle per datagram, no header of its
// own, default port 4556. UDP has no acknowledgement and no flow control: a send resolves when
// the kernel took the datagram, and inbound, when maxInboundPending bundles already await the
// agent, further datagrams are dropped and counted (a datagram socket cannot be paused; the
// kernel would drop them anyway once its buffer fills).
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleLink, BundleSink, PeerInfo } from './cla.js';
import { CLA_EVENTS, UDPCL_CHANNELS } from './dictionary.js';
import { DatagramTooLargeError, EmptyBundleError } from './errors.js';

/** Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP header bytes). */
export const MAX_UDP_PAYLOAD = 65_507;

export interface UdpClaOptions {
  /** Largest datagram (bundle) sent or accepted; bigger ones are refused and counted. */
  readonly maxDatagramBytes: number;
  /** Bundles that may await the agent before datagrams are dropped. */
  readonly maxInboundPending: number;
  readonly sink: BundleSink;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
}

export class UdpCla {
  readonly channels: Record<keyof typeof UDPCL_CHANNELS, Channel>;
  /** Errors seen, by code. */
  readonly errorCounts = new Map<string, number>();
  private receiver: Socket | undefined;
  private readonly senders = new Map<'udp4' | 'udp6', Socket>();
  private pending = 0;

  constructor(private readonly options: UdpClaOptions) {
    this.channels = options.tlm.defineAll(UDPCL_CHANNELS);
  }

  /** Binds the receiving socket; port 0 picks a free port (see the returned address). */
  listen(host: string, port: number): Promise<AddressInfo> {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.receiver = socket;
    socket.on('message', (msg, rinfo) => this.onDatagram(msg, { cla: 'udp', address: rinfo.address, port: rinfo.port }));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.fault('UDPCL receiver', error));
        const address = socket.address();
        this.options.events.emit(CLA_EVENTS.udpListening, { address: address.address, port: address.port });
        resolve(address);
      });
    });
  }

  /** A link to the UDPCL listener at host:port (an IP address). */
  link(host: string, port: number): BundleLink {
    return { peer: { cla: 'udp', address: host, port }, send: (bytes) => this.send(bytes, host, port) };
  }

  /** Sends one bundle as one datagram; resolves when the kernel took it (no acknowledgement). */
  send(bytes: Uint8Array, host: string, port: number): Promise<void> {
    if (bytes.length === 0) return Promise.reject(this.record(new EmptyBundleError('UDPCL send')));
    if (bytes.length > this.options.maxDatagramBytes) {
      this.channels.oversize.add();
      this.options.events.emit(CLA_EVENTS.udpOversize, { direction: 'outbound', bytes: bytes.length, peer: `${host}:${port}`, limit: this.options.maxDatagramBytes });
      return Promise.reject(this.record(new DatagramTooLargeError(bytes.length, this.options.maxDatagramBytes)));
    }
    const socket = this.sender(isIPv6(host) ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.send(bytes, port, host, (error) => {
        if (error) {
          this.channels.sendFailures.add();
          this.options.events.emit(CLA_EVENTS.udpSendFailed, { bytes: bytes.length, peer: `${host}:${port}`, error: error.message });
          reject(error);
          return;
        }
        this.channels.bundlesOut.add();
        this.channels.bytesOut.add(bytes.length);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const sockets = [...this.senders.values()];
    if (this.receiver) sockets.push(this.receiver);
    this.senders.clear();
    this.receiver = undefined;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private onDatagram(msg: Buffer, from: PeerInfo): void {
    const peer = `${from.address}:${from.port}`;
    if (msg.length === 0) {
      this.channels.malformed.add();
      const error = this.record(new EmptyBundleError('UDPCL datagram'));
      this.options.events.emit(CLA_EVENTS.udpMalformed, { peer, error: error.message });
      return;
    }
    if (msg.length > this.options.maxDatagramBytes) {
      this.channels.oversize.add();
      this.record(new DatagramTooLargeError(msg.length, this.options.maxDatagramBytes));
      this.options.events.emit(CLA_EVENTS.udpOversize, { direction: 'inbound', bytes: msg.length, peer, limit: this.options.maxDatagramBytes });
      return;
    }
    if (this.pending >= this.options.maxInboundPending) {
      this.channels.dropped.add();
      this.options.events.emit(CLA_EVENTS.udpDropped, { peer, pending: this.pending });
      return;
    }
    this.pending++;
    this.channels.inboundPending.add(1);
    let verdict: Promise<void>;
    try {
      verdict = this.options.sink.accept(msg, from);
    } catch (error) {
      verdict = Promise.reject(error);
    }
    verdict.then(
      () => {
        this.channels.bundlesIn.add();
        this.channels.bytesIn.add(msg.length);
      },
      (error: unknown) => {
        this.channels.refused.add();
        this.options.events.emit(CLA_EVENTS.udpRefused, { peer, error: String(error) });
      },
    ).finally(() => {
      this.pending--;
      this.channels.inboundPending.add(-1);
    });
  }

  private sender(family: 'udp4' | 'udp6'): Socket {
    let socket = this.senders.get(family);
    if (!socket) {
      socket = createSocket(family);
      socket.on('error', (error) => this.fault('UDPCL sender', error));
      this.senders.set(family, socket);
    }
    return socket;
  }

  private record<E extends Error & { code: string }>(error: E): E {
    this.errorCounts.set(error.code, (this.errorCounts.get(error.code) ?? 0) + 1);
    return error;
  }

  private fault(where: string, error: Error): void {
    this.options.events.emit(CLA_EVENTS.claFault, { where, error: error.message });
    this.options.log.error({ err: error }, `${where} error`);
  }
}
