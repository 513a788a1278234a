// The bundle agent of one node (RFC 9171 section 5): receive -> validate -> (BPSec) -> store ->
// forward or deliver. It composes one module per stage, as a bundle flows through them:
//   agent/ingress.ts     validate, suppress duplicates, store durably, then acknowledge
//   agent/queues.ts      where stored bundles wait: ready, retry, limbo (no route), a contact's queue
//   agent/dispatch.ts    per slot, decide from metadata: forward, deliver, wait or expire
//   agent/routing.ts     ask the Router: next hop and contact; contact queues; route again
//   agent/forward.ts     RFC 9171 5.4 edits, fragment, send to the next hop
//   agent/seal.ts        BCBs with session peers: seal on the way out, open on the way in
//   agent/deliver.ts     hand to a local service (after reassemble.ts for fragments)
//   agent/originate.ts   bundles this node creates; agent/report.ts its status reports
// Two executive tasks do the work in bounded slices: dtn.ingest and dtn.dispatch.
import type { PeerInfo } from '../cla/cla.js';
import type { BundleSink } from '../cla/cla.js';
import type { Task } from '../exec/task.js';
import type { Logger } from '../log.js';
import type { Router } from '../route/router.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { AGENT_CHANNELS, AGENT_EVENTS } from './agent-dictionary.js';
import { payloadBlock } from './bundle.js';
import type { CreationClock } from './creation.js';
import type { SecurityKey } from './keys.js';
import type { StoredBundle } from './store/meta.js';
import type { BundleStore } from './store/store.js';
import { BundleTelemetry } from './telemetry.js';
import { SERVICE, type AgentContext, type BcbSessions, type LinkTable, type ServiceHandler } from './agent/context.js';
import { Delivery } from './agent/deliver.js';
import { Dispatcher } from './agent/dispatch.js';
import { Forwarder } from './agent/forward.js';
import { Ingress } from './agent/ingress.js';
import { DEFAULT_AGENT_LIMITS, type AgentLimits } from './agent/limits.js';
import { Originator, type Outgoing } from './agent/originate.js';
import { DispatchQueues } from './agent/queues.js';
import { Routing } from './agent/routing.js';
import { FragmentHold } from './agent/reassemble.js';
import { StatusReporter } from './agent/report.js';
import { Sealing } from './agent/seal.js';

export { SERVICE, DEFAULT_AGENT_LIMITS };
export type { AgentLimits, BcbSessions, LinkTable, Outgoing, ServiceHandler };
export type { NeighbourLink } from './agent/context.js';

export interface AgentOptions {
  node: number;
  store: BundleStore;
  router: Router;
  links: LinkTable;
  tlm: TelemetryRegistry;
  events: EventLog;
  log: Logger;
  limits?: Partial<AgentLimits>;
  /** BPSec keys: BIBs are verified and BCBs for this node decrypted where a key is held. */
  keys?: readonly SecurityKey[];
  /** Wall clock, Unix ms (DTN time is derived from it). */
  now?: () => number;
  /** Creation timestamps of the bundles this node makes (its mark kept in the node's data dir). */
  creation: CreationClock;
  /** Refuse ION's fragments with extension blocks numbered 0 instead of renumbering them. */
  strictBlockNumbers?: boolean;
  /**
   * Whether any neighbour or route of this node leads towards `node`, now or later. A received
   * bundle for a node it does not reach is refused (status reason 6) rather than kept for ever.
   * Absent: every node is taken to be reachable.
   */
  reaches?: (node: number) => boolean;
}

export class BundleAgent implements BundleSink {
  readonly node: number;
  readonly limits: AgentLimits;
  readonly bundleTlm: BundleTelemetry;
  private readonly ctx: AgentContext;
  private readonly queues: DispatchQueues;
  private readonly routing: Routing;
  private readonly ingress: Ingress;
  private readonly dispatcher: Dispatcher;
  private readonly delivery: Delivery;
  private readonly sealing: Sealing;
  private readonly originator: Originator;

  constructor(options: AgentOptions) {
    this.node = options.node;
    this.limits = { ...DEFAULT_AGENT_LIMITS, ...options.limits };
    this.bundleTlm = new BundleTelemetry(options.tlm, options.events);
    const ctx: AgentContext = {
      node: this.node,
      limits: this.limits,
      store: options.store,
      ch: options.tlm.defineAll(AGENT_CHANNELS),
      bundleTlm: this.bundleTlm,
      events: options.events,
      log: options.log,
      now: options.now ?? Date.now,
      previousHops: new Map(),
    };
    const keys = options.keys ?? [];
    this.ctx = ctx;
    this.queues = new DispatchQueues(ctx.ch.pending, ctx.ch.awaitingContact);
    this.routing = new Routing(ctx, options.router, options.links, this.queues);
    this.originator = new Originator(ctx, this.queues, options.creation);
    const reporter = new StatusReporter(ctx, this.originator);
    this.sealing = new Sealing(ctx, keys);
    const fragments = new FragmentHold(ctx);
    this.delivery = new Delivery(ctx, fragments, this.sealing, reporter);
    const forwarder = new Forwarder(ctx, this.sealing, reporter);
    this.dispatcher = new Dispatcher(ctx, this.queues, this.routing, forwarder, this.delivery, fragments, reporter);
    this.ingress = new Ingress(ctx, keys, this.queues, reporter, (id) => this.delivery.delivered(id), options.strictBlockNumbers ?? false, options.reaches ?? (() => true));
  }

  /** The executive tasks that run the agent. */
  tasks(): Task[] {
    return [
      { name: 'dtn.ingest', criticality: 'normal', budgetUs: this.limits.ingestBudgetUs, run: () => this.ingress.slot() },
      { name: 'dtn.dispatch', criticality: 'normal', budgetUs: this.limits.dispatchBudgetUs, run: () => this.dispatcher.slot() },
    ];
  }

  /** Queues every bundle the store recovered for dispatch; call once after the store opened. */
  resume(): void {
    const stored = this.ctx.store.list();
    this.routing.recovered(stored.filter((b) => b.state === 'forward-pending').map((b) => b.id));
    for (const b of stored) this.queues.enqueue(b.id, b.priority);
    if (stored.length > 0) this.ctx.events.emit(AGENT_EVENTS.recovered, { count: stored.length });
  }

  /** Seals bundles for session peers and opens theirs from now on; set at composition, before start. */
  protectWith(sessions: BcbSessions): void {
    this.sealing.use(sessions);
  }

  /** Serves SERVICE.echo: every payload goes back to its source, with the same lifetime. */
  registerEcho(): void {
    this.register(SERVICE.echo, async (bundle) => {
      await this.send({
        destination: bundle.primary.source,
        service: SERVICE.echo,
        payload: payloadBlock(bundle).data,
        lifetimeMs: bundle.primary.lifetime,
      });
    });
  }

  /** A convergence-layer session came up: bundles in limbo get another try at the next dispatch. */
  sessionUp(): void {
    this.queues.releaseLimbo(this.ctx.now());
  }

  /** The router took a new contact plan: every bundle waiting for a contact or a route is routed again. */
  replanned(): void {
    this.routing.replanned();
  }

  /** The plan contacts bundles wait for, with how many: what a mission view shows. */
  contactQueues(): ReturnType<DispatchQueues['contactQueues']> {
    return this.queues.contactQueues();
  }

  /** Registers the handler of local service `service` (ipn:node.service). */
  register(service: number, handler: ServiceHandler): void {
    this.delivery.register(service, handler);
    // Bundles that waited (perhaps for this service) go out at the next dispatch.
    this.queues.releaseLater();
  }

  /** The BundleSink of the convergence layers. */
  accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    return this.ingress.accept(bytes, from);
  }

  /** Creates a bundle from a local service; resolves with its id once it is durable. */
  send(out: Outgoing): Promise<string> {
    return this.originator.send(out);
  }

  // ---- Expiry -------------------------------------------------------------------------------
  // Every stored bundle comes up for dispatch at least every `limboMs` (limbo) or `retryMs`
  // (retries), and dispatch deletes an expired bundle with the "deleted" status report it asked
  // for (lifetime expired). The store's maintenance task (dtn.store) sweeps, with metadata only,
  // what dispatch did not reach: the node runs it `expiryBackstopMs()` behind the clock.

  /** How far behind the clock the store's sweep runs: two limbo periods. */
  expiryBackstopMs(): number {
    return 2 * this.limits.limboMs;
  }

  /** Bundles the store's sweep deleted: they leave the dispatch queues. */
  expired(bundles: readonly StoredBundle[]): void {
    this.ctx.ch.expired.add(bundles.length);
    for (const b of bundles) {
      this.queues.remove(b.id, b.priority);
      this.routing.forget(b.id);
    }
    this.queues.publish();
    this.ctx.events.emit(AGENT_EVENTS.expired, { count: bundles.length });
  }
}
