// LTP over UDP, as ION's udplsi/udplso: one segment per datagram, sent to the neighbour engine's
// configured address (port 1113 by default), received on this engine's one socket whatever the
// source port. Engine ids are ipn node numbers; BP is client service 1; one bundle per block sent,
// several taken (block-delivery.ts).
// UDP has no session, so a configured LTP neighbour is always in contact; LTP's reports are
// what tell a delivered bundle from a lost one.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ConvergenceLayer, LinkOffer, ListenInfo } from '../cla.js';
import type { IpNeighbour } from '../config.js';
import { CLA_EVENTS, ltpChannelDefs, type LtpChannels } from '../dictionary.js';
import type { LayerContext } from '../registry.js';
import type { LtpClaConfig } from './config.js';
import { deliverBlock } from './block-delivery.js';
import { LtpEngine } from './engine.js';
import { realTimers, type LtpTimers } from './timers.js';

/**
 * Receive buffer asked of the kernel: a window of blocks arrives as a burst of segments, and a
 * datagram the buffer cannot hold is lost before LTP sees it (then costs a retransmission round).
 */
const RECEIVE_BUFFER_BYTES = 4 << 20;

export class LtpUdpCla implements ConvergenceLayer {
  readonly kind = 'ltp';
  readonly engine: LtpEngine;
  readonly channels: LtpChannels;
  private socket: Socket | undefined;
  private readonly byNode: ReadonlyMap<number, IpNeighbour>;

  constructor(private readonly config: LtpClaConfig, private readonly ctx: LayerContext, timers: LtpTimers = realTimers) {
    this.byNode = new Map(ctx.neighbours.filter((n): n is IpNeighbour => n.cla === 'ltp').map((n) => [n.node, n]));
    this.channels = ctx.tlm.defineAll(ltpChannelDefs('cla.ltp'));
    this.engine = new LtpEngine({
      engineId: ctx.node,
      settings: config,
      timers,
      channels: this.channels,
      transmit: (segment, engine) => this.transmit(segment, engine),
      deliver: (block, engine) => {
        const n = this.byNode.get(engine)!;
        return deliverBlock(block, engine, { cla: 'ltp', address: n.host, port: n.port, nodeId: `ipn:${engine}.0` }, { sink: ctx.sink, events: ctx.events, channels: this.channels });
      },
      knows: (engine) => this.byNode.has(engine),
      events: ctx.events,
      log: ctx.log,
    });
  }

  async start(): Promise<ListenInfo> {
    const at = this.config.listen;
    const socket = createSocket(isIPv6(at.host) ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.engine.receive(msg, `${rinfo.address}:${rinfo.port}`));
    const address = await new Promise<ListenInfo>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(at.port, at.host, () => {
        socket.off('error', reject);
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch (error) {
          // The kernel refused (a limit below rmem_max): LTP still recovers what overflows.
          this.ctx.log.warn({ err: error }, 'LTP receive buffer left at the kernel default');
        }
        socket.on('error', (error) => {
          this.ctx.events.emit(CLA_EVENTS.claFault, { where: 'LTP UDP socket', error: error.message });
          this.ctx.log.error({ err: error }, 'LTP UDP socket error');
        });
        resolve(socket.address());
      });
    });
    this.ctx.events.emit(CLA_EVENTS.ltpListening, { engine: this.ctx.node, address: address.address, port: address.port });
    for (const node of this.byNode.keys()) this.ctx.contact(node, true);
    return address;
  }

  link(node: number): LinkOffer | undefined {
    const n = this.byNode.get(node);
    if (!n || !this.socket) return undefined;
    return {
      link: { peer: { cla: 'ltp', address: n.host, port: n.port, nodeId: `ipn:${node}.0` }, send: (bytes) => this.engine.send(bytes, node) },
      maxBundleBytes: this.config.maxBlockBytes,
    };
  }

  maintain(): void {}

  counters(): Record<string, number> {
    return Object.fromEntries(Object.values(this.channels).map((c) => [c.def.name, c.value]));
  }

  async close(): Promise<void> {
    this.engine.close();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private transmit(segment: Uint8Array, engine: number): Promise<void> {
    const n = this.byNode.get(engine);
    const socket = this.socket;
    if (!n || !socket) return Promise.reject(new Error(`no LTP route to engine ${engine}`));
    return new Promise((resolve, reject) => socket.send(segment, n.port, n.host, (error) => (error ? reject(error) : resolve())));
  }
}
