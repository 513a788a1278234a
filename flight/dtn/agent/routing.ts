// Routing: where each bundle to forward goes next, asked of the node's Router (static table or
// CGR over a contact plan) with the facts CGR needs. A CGR decision names a plan contact: the
// bundle waits in that contact's outbound queue (queues.ts) until the contact opens and a
// session with the next hop is up, then leaves, stored until the next hop acknowledges it. When
// the contact closes with the bundle still there, its booking is given back and it is routed
// again. A bundle with no route waits in limbo until the plan changes or it expires.
import { ROUTE_EVENTS } from '../../route/dictionary.js';
import type { BundleFacts, Forwarding, Router } from '../../route/router.js';
import type { Priority, StoredBundle } from '../store/meta.js';
import type { Bundle } from '../bundle.js';
import { rememberPreviousHop, type AgentContext, type LinkTable, type NeighbourLink } from './context.js';
import type { DispatchQueues } from './queues.js';

/** Where a bundle goes now: out on a link, into a contact's queue, or nowhere yet (limbo). */
export type NextHop = { readonly hop: number; readonly neighbour: NeighbourLink } | 'held' | 'no-route';

const PRIORITY_LEVEL: Record<Priority, 0 | 1 | 2> = { bulk: 0, normal: 1, expedited: 2 };

export class Routing {
  /** CGR decisions of bundles not yet acknowledged by their next hop (their volume is booked). */
  private readonly decisions = new Map<string, Forwarding>();
  /** Route lists the router had computed when the slot began. */
  private listsAtSlot = 0;
  /** Neighbours in a plan contact at the last slot: contacts that start and end are events. */
  private open: readonly number[] = [];
  /** Bundles the store held at start whose previous hop is not read from their bytes yet. */
  private readonly unread = new Set<string>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly router: Router,
    private readonly links: LinkTable,
    private readonly queues: DispatchQueues,
  ) {}

  /** Start of a dtn.dispatch slot: contacts that opened or closed move their bundles on. */
  slot(now: number): void {
    this.listsAtSlot = this.router.computations;
    this.contactsChanged(this.router.openContacts(now));
    this.queues.sweepContacts(now, (node) => this.links.link(node) !== undefined);
  }

  /**
   * Whether this slot may route another bundle: a cold route list costs milliseconds (Yen's
   * routes over the plan), so a slot computes at most `routeListsPerSlot`; the rest wait a slot.
   */
  budgetLeft(): boolean {
    return this.router.computations - this.listsAtSlot < this.ctx.limits.routeListsPerSlot;
  }

  /**
   * The store's bundles at start (a restart): where each came from is lost with the process, but
   * the sender's previous node block (RFC 9171 4.4.1) is in the bytes stored as received, so the
   * dispatcher reads each before its first routing (previousHopRead) rather than let loop
   * avoidance forget it.
   */
  recovered(ids: Iterable<string>): void {
    for (const id of ids) this.unread.add(id);
  }

  /** Whether bundle `id` must be read (previousHopRead) before it is routed. */
  previousHopUnread(id: string): boolean {
    return this.unread.has(id);
  }

  /** A recovered bundle, read: its previous node block names where it came from (none: not known). */
  previousHopRead(id: string, bundle: Bundle | undefined): void {
    this.unread.delete(id);
    if (bundle) rememberPreviousHop(this.ctx, id, bundle);
  }

  /** Where bundle `id` (to node `destination`) goes now. */
  next(id: string, meta: StoredBundle, destination: number, now: number): NextHop {
    let decision = this.decisions.get(id);
    if (decision?.window && now >= decision.window.closeMs) {
      this.drop(id); // its contact closed before it left (queued, or being retried): routed again
      this.ctx.ch.rerouted.add();
      decision = undefined;
    }
    if (!decision) {
      decision = this.router.route(this.facts(id, meta, destination), now, (node) => this.links.link(node) !== undefined);
      if (!decision) return 'no-route';
      if (decision.window) this.decisions.set(id, decision);
    }
    const neighbour = this.links.link(decision.nextHop);
    if (decision.window && (now < decision.window.openMs || !neighbour)) {
      this.queues.hold(id, meta.priority, decision.nextHop, decision.window);
      return 'held';
    }
    return neighbour ? { hop: decision.nextHop, neighbour } : 'no-route';
  }

  /** The bundle left (acknowledged): its booking is spent. A mission log shows where bundles cross. */
  sent(id: string): void {
    const decision = this.decisions.get(id);
    if (decision?.window) {
      this.ctx.log.info({ bundle: id, nextHop: decision.nextHop, contact: { openMs: decision.window.openMs, closeMs: decision.window.closeMs } }, 'bundle sent in contact');
    }
    this.decisions.delete(id);
    this.ctx.previousHops.delete(id);
    this.unread.delete(id);
  }

  /** The bundle will not leave on its decision (deleted, or routed again): its booking is given back. */
  drop(id: string): void {
    const decision = this.decisions.get(id);
    if (decision) this.router.release(decision);
    this.decisions.delete(id);
  }

  /** Deleted (expired, refused): forgotten. */
  forget(id: string): void {
    this.drop(id);
    this.ctx.previousHops.delete(id);
    this.unread.delete(id);
  }

  /** The router took a new plan: every decision was made on the old one, so every bundle is routed again. */
  replanned(): void {
    this.decisions.clear(); // their bookings went with the old plan
    this.queues.releaseContacts();
    this.queues.releaseLimbo(this.ctx.now());
  }

  /** What a person watching the mission sees: which contacts start and end, and what waits for them. */
  private contactsChanged(open: readonly number[]): void {
    if (open.length === this.open.length && open.every((n, i) => n === this.open[i])) return;
    for (const neighbour of this.open) if (!open.includes(neighbour)) this.ctx.events.emit(ROUTE_EVENTS.contactEnded, { neighbour });
    for (const neighbour of open) {
      if (this.open.includes(neighbour)) continue;
      const waiting = this.queues.contactQueues().filter((q) => q.nextHop === neighbour).reduce((sum, q) => sum + q.bundles, 0);
      this.ctx.events.emit(ROUTE_EVENTS.contactStarted, { neighbour, waiting });
    }
    this.open = open;
  }

  private facts(id: string, meta: StoredBundle, destination: number): BundleFacts {
    const previousHop = this.ctx.previousHops.get(id);
    return {
      destination,
      sizeBytes: meta.size,
      priority: PRIORITY_LEVEL[meta.priority],
      expiryMs: meta.expiryMs,
      ...(previousHop === undefined ? {} : { previousHop }),
    };
  }
}
