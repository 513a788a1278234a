// The convergence-layer registry: for each kind of link, how to build it from its config section.
// The node's link table (neighbours.ts) builds one layer per configured section and asks it for
// links, so a new kind of link is one line here, one in config.ts's CLA_SECTIONS and its own
// folder: the table, the agent and the ground transport stay as they are.
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { ClaContext, ClaKind, ConvergenceLayer, LinkOffer, ListenInfo } from './cla.js';
import type { ClaConfig, IpNeighbour, Neighbour, TcpClaConfig, UdpClaConfig } from './config.js';
import { LtpUdpCla } from './ltp/udp.js';
import { SerialCla } from './serial/serial-cla.js';
import { TcpCla } from './tcpcl.js';
import { TERM_REASON } from './tcpcl-wire.js';
import { UdpCla } from './udp.js';

/** What a layer is built with: the node's services and the neighbours listed under it. */
export interface LayerContext extends ClaContext {
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
  /** Neighbours listed under this layer. */
  readonly neighbours: readonly Neighbour[];
  /** Node IDs of every configured neighbour, whatever its layer (TCPCL reserves them a slot). */
  readonly allNeighbourIds: readonly string[];
}

export const nodeId = (node: number): string => `ipn:${node}.0`;

type Factory<K extends ClaKind> = (config: NonNullable<ClaConfig[K]>, ctx: LayerContext) => ConvergenceLayer;

/**
 * In the order the link table asks them for a link: acknowledged links before UDP, whose send
 * says nothing about delivery (a TCPCL session opened by a node listed under UDP is preferred).
 */
const FACTORIES: { [K in ClaKind]: Factory<K> } = {
  tcp: (config, ctx) => new TcpLayer(config, ctx),
  ltp: (config, ctx) => new LtpUdpCla(config, ctx),
  serial: (config, ctx) => new SerialCla(config, ctx),
  udp: (config, ctx) => new UdpLayer(config, ctx),
};

/** One layer per configured section, in FACTORIES order. */
export function buildLayers(config: ClaConfig, base: Omit<LayerContext, 'neighbours'>): ConvergenceLayer[] {
  const layers: ConvergenceLayer[] = [];
  for (const kind of Object.keys(FACTORIES) as ClaKind[]) {
    const section = config[kind];
    if (section === undefined) continue;
    const ctx = { ...base, neighbours: config.neighbours.filter((n) => n.cla === kind) };
    layers.push((FACTORIES[kind] as Factory<ClaKind>)(section as never, ctx));
  }
  return layers;
}

function channelValues(channels: Record<string, { def: { name: string }; value: number }>): Record<string, number> {
  return Object.fromEntries(Object.values(channels).map((c) => [c.def.name, c.value]));
}

/** UDPCL as a layer: always in contact with its neighbours, one bundle per datagram. */
class UdpLayer implements ConvergenceLayer {
  readonly kind = 'udp';
  readonly cla: UdpCla;
  private readonly byNode: ReadonlyMap<number, IpNeighbour>;

  constructor(private readonly config: UdpClaConfig, ctx: LayerContext) {
    this.cla = new UdpCla({ ...config, sink: ctx.sink, tlm: ctx.tlm, events: ctx.events, log: ctx.log });
    this.byNode = new Map(ctx.neighbours.map((n) => [n.node, n as IpNeighbour]));
  }

  async start(): Promise<ListenInfo | undefined> {
    return this.config.listen && this.cla.listen(this.config.listen.host, this.config.listen.port);
  }

  link(node: number): LinkOffer | undefined {
    const n = this.byNode.get(node);
    return n && { link: this.cla.link(n.host, n.port), maxBundleBytes: this.config.maxDatagramBytes };
  }

  maintain(): void {}

  counters(): Record<string, number> {
    return channelValues(this.cla.channels);
  }

  close(): Promise<void> {
    return this.cla.close();
  }
}

/**
 * TCPCLv4 as a layer: sessions to its neighbours are kept open (re-opened at each maintain()
 * while missing). A session the neighbour opened serves as well, and with any node: a session
 * carries bundles both ways, whatever layer the node is listed under.
 */
class TcpLayer implements ConvergenceLayer {
  readonly kind = 'tcp';
  readonly cla: TcpCla;
  private readonly connecting = new Set<number>();

  constructor(private readonly config: TcpClaConfig, private readonly ctx: LayerContext) {
    this.cla = new TcpCla({
      ...config, localNodeId: nodeId(ctx.node), neighbours: ctx.allNeighbourIds,
      sink: ctx.sink, tlm: ctx.tlm, events: ctx.events, log: ctx.log,
      onSession: (session) => ctx.contact(nodeNumber(session.peer.nodeId), true),
    });
  }

  async start(): Promise<ListenInfo | undefined> {
    return this.config.listen && this.cla.listen(this.config.listen.host, this.config.listen.port);
  }

  link(node: number): LinkOffer | undefined {
    const session = this.cla.sessionTo(nodeId(node));
    return session && { link: session, maxBundleBytes: session.peerTransferMru };
  }

  maintain(inContact: (node: number) => boolean = () => true): void {
    for (const session of this.cla.sessions()) {
      const node = nodeNumber(session.peer.nodeId);
      if (node !== undefined && !inContact(node)) session.terminate(TERM_REASON.UNKNOWN, 'contact ended');
    }
    for (const n of this.ctx.neighbours as IpNeighbour[]) {
      if (!inContact(n.node) || this.connecting.has(n.node) || this.cla.sessionTo(nodeId(n.node))) continue;
      this.connecting.add(n.node);
      // A refused connect is counted and reported by TcpCla; the next round tries again.
      const done = (): boolean => this.connecting.delete(n.node);
      this.cla.connect(n.host, n.port, nodeId(n.node)).then(done, done);
    }
  }

  counters(): Record<string, number> {
    return channelValues(this.cla.channels);
  }

  close(): Promise<void> {
    return this.cla.close();
  }
}

function nodeNumber(id: string | undefined): number | undefined {
  const match = id === undefined ? null : /^ipn:(\d+)\.0$/.exec(id);
  return match ? Number(match[1]) : undefined;
}
