// The node's convergence layers and its links to the neighbours of the `cla` config section.
// TCPCLv4 neighbours are kept connected: a session that drops is re-opened every `retryMs`
// until it is back. A session the neighbour opened to us serves just as well, since a TCPCL
// session carries bundles both ways. UDP neighbours are always "up": UDP has no session.
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleLink, BundleSink } from './cla.js';
import type { ClaConfig, Neighbour } from './config.js';
import { TcpCla } from './tcpcl.js';
import { UdpCla } from './udp.js';

export interface NeighboursOptions {
  config: ClaConfig;
  /** This node's ipn node number (its TCPCL node ID is ipn:N.0). */
  node: number;
  sink: BundleSink;
  tlm: TelemetryRegistry;
  events: EventLog;
  log: Logger;
  retryMs?: number;
  /** Called when a TCPCLv4 session comes up: a contact begins. */
  onContact?: () => void;
}

export interface Listening {
  udp?: AddressInfo;
  tcp?: AddressInfo;
}

export const nodeId = (node: number): string => `ipn:${node}.0`;

export class Neighbours {
  readonly tcp: TcpCla | undefined;
  readonly udp: UdpCla | undefined;
  private readonly byNode: ReadonlyMap<number, Neighbour>;
  private readonly connecting = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: NeighboursOptions) {
    const { config, sink, tlm, events, log } = options;
    this.byNode = new Map(config.neighbours.map((n) => [n.node, n]));
    const onSession = options.onContact && ((): void => options.onContact!());
    // Every configured neighbour has a passive session slot reserved, whatever CLA it is listed under.
    const neighbours = config.neighbours.map((n) => nodeId(n.node));
    this.tcp = config.tcp && new TcpCla({ ...config.tcp, localNodeId: nodeId(options.node), neighbours, sink, tlm, events, log, ...(onSession ? { onSession } : {}) });
    this.udp = config.udp && new UdpCla({ ...config.udp, sink, tlm, events, log });
  }

  /** Opens the listeners, then keeps trying the TCPCL neighbours in the background. */
  async start(): Promise<Listening> {
    const { udp, tcp } = this.options.config;
    const listening: Listening = {};
    if (this.udp && udp?.listen) listening.udp = await this.udp.listen(udp.listen.host, udp.listen.port);
    if (this.tcp && tcp?.listen) listening.tcp = await this.tcp.listen(tcp.listen.host, tcp.listen.port);
    this.connectMissing();
    this.timer = setInterval(() => this.connectMissing(), this.options.retryMs ?? 1000);
    return listening;
  }

  /** The link to `node` now, with the largest bundle it takes; undefined without a contact. */
  link(node: number): { link: BundleLink; maxBundleBytes: number } | undefined {
    const session = this.tcp?.sessionTo(nodeId(node));
    if (session) return { link: session, maxBundleBytes: session.peerTransferMru };
    const neighbour = this.byNode.get(node);
    if (neighbour?.cla === 'udp' && this.udp) {
      return { link: this.udp.link(neighbour.host, neighbour.port), maxBundleBytes: this.options.config.udp!.maxDatagramBytes };
    }
    return undefined;
  }

  private connectMissing(): void {
    const tcp = this.tcp;
    if (!tcp) return;
    for (const n of this.byNode.values()) {
      if (n.cla !== 'tcp' || this.connecting.has(n.node) || tcp.sessionTo(nodeId(n.node))) continue;
      this.connecting.add(n.node);
      // A refused connect is counted and reported by TcpCla; the next round tries again.
      tcp.connect(n.host, n.port, nodeId(n.node)).then(
        () => this.connecting.delete(n.node),
        () => this.connecting.delete(n.node),
      );
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.tcp?.close(), this.udp?.close()]);
  }
}
