// The node's link table: one convergence layer per configured section of `cla` (registry.ts),
// and the links to the neighbours listed under them. Every `retryMs` each layer re-opens what
// dropped (TCPCL sessions); a link is offered only while the layer has a contact with the node.
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { BundleSink, ClaKind, ConvergenceLayer, LinkOffer, ListenInfo } from './cla.js';
import type { ClaConfig } from './config.js';
import { buildLayers, nodeId } from './registry.js';

export { nodeId } from './registry.js';

export interface NeighboursOptions {
  config: ClaConfig;
  /** This node's ipn node number (its TCPCL node ID is ipn:N.0, its LTP engine id N). */
  node: number;
  sink: BundleSink;
  tlm: TelemetryRegistry;
  events: EventLog;
  log: Logger;
  retryMs?: number;
  /** Called when a contact begins on any layer (a session or a link came up). */
  onContact?: () => void;
  /**
   * The contact plan's windows (route/router.ts contactOpen): links to a node are offered, and
   * sessions kept, only while a contact with it is open. Absent: always.
   */
  inContact?: (node: number) => boolean;
}

/** Where each layer listens (an IP address, or a serial device with port 0). */
export type Listening = Partial<Record<ClaKind, ListenInfo>>;

export class Neighbours {
  readonly layers: readonly ConvergenceLayer[];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: NeighboursOptions) {
    const { config, sink, tlm, events, log } = options;
    this.layers = buildLayers(config, {
      node: options.node,
      sink,
      tlm,
      events,
      log,
      allNeighbourIds: config.neighbours.map((n) => nodeId(n.node)),
      contact: (_node, up) => {
        if (up) options.onContact?.();
      },
    });
  }

  /** Opens the listeners, then keeps every layer's links up in the background. */
  async start(): Promise<Listening> {
    const listening: Listening = {};
    for (const layer of this.layers) {
      const at = await layer.start();
      if (at) listening[layer.kind] = at;
    }
    this.maintain();
    this.timer = setInterval(() => this.maintain(), this.options.retryMs ?? 1000);
    return listening;
  }

  /** The link to `node` now, with the largest bundle it takes; undefined without a contact. */
  link(node: number): LinkOffer | undefined {
    if (this.options.inContact && !this.options.inContact(node)) return undefined;
    for (const layer of this.layers) {
      const offer = layer.link(node);
      if (offer) return offer;
    }
    return undefined;
  }

  /** Every layer's counters, by channel name. */
  counters(): Record<string, number> {
    return Object.assign({}, ...this.layers.map((l) => l.counters())) as Record<string, number>;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.layers.map((l) => l.close()));
  }

  private maintain(): void {
    for (const layer of this.layers) layer.maintain(this.options.inContact);
  }
}
