// The bundle agent's Contact Graph Routing: for a bundle's destination, size, priority, expiry
// and previous hop, the next hop and the contact it leaves on. Route lists are cached per
// destination (Yen's routes, computed lazily) and dropped when the plan changes or a contact on
// one of them ends; a decision walks the cached routes in SABR order and takes the first that
// can carry the bundle, then books its volume.
import type { Channel } from '../tlm/channels.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import { makeRoute, type Route } from './cgr.js';
import { ROUTE_CHANNELS } from './dictionary.js';
import { ContactPlanError } from './errors.js';
import { ContactGraph } from './graph.js';
import type { Contact, ContactPlan } from './plan.js';
import type { BundleFacts, Router } from './router.js';
import { ContactVolumes, type PriorityLevel } from './volume.js';

export type { BundleFacts } from './router.js';
import { RouteList } from './yen.js';

export interface RouteDecision {
  readonly nextHop: number;
  /** The contact the bundle leaves on: it waits in this contact's queue until the contact opens. */
  readonly contact: Contact;
  /** Projected arrival at the destination, Unix ms (serialisation time not counted). */
  readonly arrivalMs: number;
  readonly hops: number;
  /** The contacts booked for this bundle, for release() if it is routed again. */
  readonly booked: readonly number[];
  readonly ecc: number;
  readonly priority: PriorityLevel;
}

export interface CgrOptions {
  /** Unix ms of plan time 0; required for a relative plan (the mission's time origin). */
  epochMs?: number;
  /** Most routes Yen's algorithm computes per destination. */
  maxRoutes?: number;
  /** Bytes a bundle costs on a contact beyond its size: convergence-layer framing. */
  overheadBytes?: number;
}

interface CacheEntry {
  list: RouteList;
  /** Plan time the first contact of a route computed so far ends: then the list is recomputed. */
  validUntil: number;
  /** Routes of the list already folded into validUntil. */
  seen: number;
}

export class CgrRouter implements Router {
  private g!: ContactGraph;
  private volumes!: ContactVolumes;
  private epochMs = 0;
  private source = -1;
  private readonly cache = new Map<number, CacheEntry>();
  private readonly maxRoutes: number;
  private readonly overhead: number;
  readonly ch: Record<keyof typeof ROUTE_CHANNELS, Channel> | undefined;

  constructor(
    private readonly node: number,
    plan: ContactPlan,
    private readonly options: CgrOptions = {},
    tlm?: TelemetryRegistry,
  ) {
    this.maxRoutes = options.maxRoutes ?? 8;
    this.overhead = options.overheadBytes ?? 64;
    this.ch = tlm?.defineAll(ROUTE_CHANNELS);
    this.setPlan(plan);
  }

  /** Takes a new (validated) plan: every cached route list and booking belongs to the old one. A
   *  relative plan without CgrOptions.epochMs is refused (ContactPlanError) and the old plan stays. */
  setPlan(plan: ContactPlan): void {
    const epochMs = plan.epochMs ?? this.options.epochMs;
    if (epochMs === undefined) throw new ContactPlanError('plan', 'epoch', 'an epoch, in the plan or as the mission time origin (CgrOptions.epochMs)');
    this.epochMs = epochMs;
    this.g = new ContactGraph(plan);
    this.volumes = new ContactVolumes(this.g);
    this.source = this.g.indexOf(this.node);
    this.cache.clear();
    this.ch?.planContacts.set(plan.contacts.length);
  }

  get plan(): ContactPlan {
    return this.g.plan;
  }

  /** Plan seconds at Unix ms `ms`. */
  planTime(ms: number): number {
    return (ms - this.epochMs) / 1000;
  }

  /** The Router seam as the agent uses it today: the next hop for a small normal bundle, nothing booked. */
  nextHop(destination: number, nowMs: number): number | undefined {
    return this.decide({ destination, sizeBytes: 0, priority: 1, expiryMs: Infinity }, nowMs, false)?.nextHop;
  }

  /** Routes a bundle and books its volume; undefined when no route can carry it now (limbo). */
  route(bundle: BundleFacts, nowMs: number): RouteDecision | undefined {
    return this.decide(bundle, nowMs, true);
  }

  /** Gives back a decision's booking (the bundle is routed again or dropped before it left). */
  release(decision: RouteDecision): void {
    this.volumes.release(decision.booked, decision.ecc, decision.priority);
  }

  private decide(bundle: BundleFacts, nowMs: number, book: boolean): RouteDecision | undefined {
    const now = this.planTime(nowMs);
    const deadline = this.planTime(bundle.expiryMs);
    const destination = this.g.indexOf(bundle.destination);
    const ecc = bundle.sizeBytes + this.overhead;
    const entry = this.routesTo(destination, now);
    for (let i = 0; ; i++) {
      const cached = entry.list.get(i);
      if (cached === undefined) break;
      if (i >= entry.seen) {
        entry.validUntil = Math.min(entry.validUntil, ...cached.contacts.map((c) => this.g.end[c]!));
        entry.seen = i + 1;
      }
      const route = this.usable(cached, now, ecc, bundle);
      if (route === undefined || route.arrival > deadline) continue;
      if (book) this.volumes.book(route.contacts, ecc, bundle.priority);
      this.ch?.decisions.add();
      return {
        nextHop: route.nextHop,
        contact: this.g.plan.contacts[route.contacts[0]!]!,
        arrivalMs: this.epochMs + route.arrival * 1000,
        hops: route.hops,
        booked: book ? route.contacts : [],
        ecc,
        priority: bundle.priority,
      };
    }
    this.ch?.noRoute.add();
    return undefined;
  }

  /** The cached route list to `destination`, recomputed if a contact on a listed route has ended. */
  private routesTo(destination: number, now: number): CacheEntry {
    let entry = this.cache.get(destination);
    if (!entry || now >= entry.validUntil) {
      entry = { list: new RouteList(this.g, this.source, destination, now, this.maxRoutes), validUntil: Infinity, seen: 0 };
      this.cache.set(destination, entry);
      this.ch?.routeLists.add();
    }
    return entry;
  }

  /** The route as it stands leaving now, if it can carry `ecc` bytes and respects loop avoidance. */
  private usable(route: Route, now: number, ecc: number, bundle: BundleFacts): Route | undefined {
    if (route.nextHop === bundle.previousHop && route.nextHop !== bundle.destination) return undefined;
    let a = now;
    for (const c of route.contacts) {
      if (this.g.end[c]! <= a) return undefined;
      if (this.volumes.residual(c, bundle.priority, a) < ecc) {
        this.ch?.routesSkippedVolume.add();
        return undefined;
      }
      a = Math.max(a, this.g.start[c]!) + this.g.owlt[c]!;
    }
    return a === route.arrival ? route : makeRoute(this.g, route.contacts, now);
  }
}
