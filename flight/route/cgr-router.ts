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
import type { BundleFacts, ContactWindow, Forwarding, Router, SessionUp, StaticRouter } from './router.js';
import { ContactVolumes, type PriorityLevel } from './volume.js';

export type { BundleFacts } from './router.js';
import { RouteList } from './yen.js';

export interface RouteDecision extends Forwarding {
  readonly nextHop: number;
  /** The contact the bundle leaves on: it waits in this contact's queue until the contact opens. */
  readonly contact: Contact;
  /** That contact on the node's clock. */
  readonly window: ContactWindow;
  /** Projected arrival at the destination, Unix ms (serialisation time not counted). */
  readonly arrivalMs: number;
  readonly hops: number;
  /** The contacts booked for this bundle, for release() if it is routed again. */
  readonly booked: readonly number[];
  readonly ecc: number;
  readonly priority: PriorityLevel;
  /** The plan it was made on (setPlan counts them): a booking on a replaced plan is not given back to the new one. */
  readonly generation: number;
}

export interface CgrOptions {
  /** Unix ms of plan time 0: the mission's time origin, over the plan's own epoch; required for a relative plan. */
  epochMs?: number;
  /** Routes to the nodes the plan does not name (a ground console behind its station); none by default. */
  fallback?: StaticRouter;
  /** Plan seconds per second of the node's clock (a mission played faster than real time); 1 by default. */
  timeScale?: number;
  /** Most routes Yen's algorithm computes per destination. */
  maxRoutes?: number;
  /** Bytes a bundle costs on a contact beyond its size: convergence-layer framing. */
  overheadBytes?: number;
}

/**
 * A protected copy of the plan in use (flight/route/plan-guard.ts): the router hands it each plan
 * it takes, has it check (and repair in place) the whole graph before computing routes, and checks
 * the contacts a decision from cached routes reads.
 */
export interface PlanGuard {
  /** Keeps `plan`; throws, with nothing changed, if it cannot. */
  store(plan: ContactPlan): void;
  /** True if the graph differed from the protected copy and was repaired. O(contacts). */
  repair(g: ContactGraph): boolean;
  /** Whether the graph's contacts [first, end) are as the protected copy holds them; cheap. */
  intact(g: ContactGraph, first: number, end: number): boolean;
}

/** A decision that read a damaged contact: the plan was repaired and the decision is taken again. */
const DAMAGED = Symbol('damaged');

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
  private readonly scale: number;
  private source = -1;
  private lists = 0;
  private generation = 0;
  private readonly cache = new Map<number, CacheEntry>();
  private readonly maxRoutes: number;
  private readonly overhead: number;
  private guard: PlanGuard | undefined;
  ch: Record<keyof typeof ROUTE_CHANNELS, Channel> | undefined;

  constructor(
    private readonly node: number,
    plan: ContactPlan,
    private readonly options: CgrOptions = {},
    tlm?: TelemetryRegistry,
  ) {
    this.maxRoutes = options.maxRoutes ?? 8;
    this.scale = options.timeScale ?? 1;
    this.overhead = options.overheadBytes ?? 64;
    this.ch = tlm?.defineAll(ROUTE_CHANNELS);
    this.setPlan(plan);
  }

  /** Takes a new (validated) plan: every cached route list and booking belongs to the old one. A
   *  relative plan without CgrOptions.epochMs is refused (ContactPlanError) and the old plan stays. */
  setPlan(plan: ContactPlan): void {
    const epochMs = this.options.epochMs ?? plan.epochMs;
    if (epochMs === undefined) throw new ContactPlanError('plan', 'epoch', 'an epoch, in the plan or as the mission time origin (CgrOptions.epochMs)');
    this.guard?.store(plan);
    this.epochMs = epochMs;
    this.g = new ContactGraph(plan);
    this.volumes = new ContactVolumes(this.g);
    this.source = this.g.indexOf(this.node);
    this.cache.clear();
    this.generation++;
    this.ch?.planContacts.set(plan.contacts.length);
  }

  /** Keeps the plan in use in `guard` from now on: the whole graph is checked before routes are
   *  computed, and the contacts each decision and contact question reads before it reads them. */
  protect(guard: PlanGuard): void {
    guard.store(this.g.plan);
    this.guard = guard;
  }

  /** Checks the whole graph against the protected copy; route lists computed from a damaged one are dropped. True if it was. */
  private repairGraph(): boolean {
    if (!this.guard?.repair(this.g)) return false;
    this.cache.clear();
    return true;
  }

  /** Whether contacts [first, end) are undamaged; if not, the graph is repaired (and the caller reads again). */
  private intact(first: number, end: number): boolean {
    if (!this.guard || this.guard.intact(this.g, first, end)) return true;
    this.repairGraph();
    return false;
  }

  get plan(): ContactPlan {
    return this.g.plan;
  }

  /** Publishes route.* channels from now on (a router built with the config, before the node's registry). */
  bindTelemetry(tlm: TelemetryRegistry): void {
    this.ch = tlm.defineAll(ROUTE_CHANNELS);
    this.ch.planContacts.set(this.g.plan.contacts.length);
  }

  get computations(): number {
    return this.lists;
  }

  /** Plan seconds at Unix ms `ms`. */
  planTime(ms: number): number {
    return ((ms - this.epochMs) * this.scale) / 1000;
  }

  /** Unix ms at plan time `t`. */
  clockTime(t: number): number {
    return this.epochMs + (t * 1000) / this.scale;
  }

  /**
   * Routes a bundle and books its volume; undefined when no route can carry it now (limbo). CGR
   * takes no account of sessions: the bundle waits for its contact, and a session then.
   */
  route(bundle: BundleFacts, nowMs: number): RouteDecision | undefined;
  /** As the agent asks: a node the plan does not name is routed by the fallback table, by sessions. */
  route(bundle: BundleFacts, nowMs: number, sessionUp: SessionUp): Forwarding | undefined;
  route(bundle: BundleFacts, nowMs: number, sessionUp?: SessionUp): Forwarding | undefined {
    if (this.g.indexOf(bundle.destination) < 0 && this.options.fallback && sessionUp) {
      return this.options.fallback.route(bundle, nowMs, sessionUp);
    }
    return this.decide(bundle, nowMs);
  }

  /** Gives back a decision's booking (the bundle is routed again or dropped before it left). */
  release(decision: Forwarding): void {
    const d = decision as RouteDecision;
    if (d.generation === this.generation) this.volumes.release(d.booked, d.ecc, d.priority);
  }

  reaches(node: number): boolean {
    return this.g.indexOf(node) >= 0 || (this.options.fallback?.reaches(node) ?? false);
  }

  /**
   * Whether a contact between this node and `node`, either way, is open at `nowMs`. Links with a
   * node the plan does not name are not the plan's to govern: open.
   */
  contactOpen(node: number, nowMs: number): boolean {
    const other = this.g.indexOf(node);
    if (other < 0) return true;
    if (this.source < 0) return false;
    const t = this.planTime(nowMs);
    return this.openBetween(this.source, other, t) || this.openBetween(other, this.source, t);
  }

  openContacts(nowMs: number): number[] {
    if (this.source < 0) return [];
    const t = this.planTime(nowMs);
    const open: number[] = [];
    this.g.nodes.forEach((node, i) => {
      if (i !== this.source && (this.openBetween(this.source, i, t) || this.openBetween(i, this.source, t))) open.push(node);
    });
    this.ch?.contactsOpen.set(open.length);
    return open;
  }

  /** A's contacts to b are one slice sorted by start (they never overlap in Tern and ION plans; HDTN's may).
   *  The contacts read are checked first; after a repair they are read again, once (damage that a
   *  repair leaves reads as closed: no link is offered on a contact the node cannot be sure of). */
  private openBetween(a: number, b: number, t: number, again = true): boolean {
    const g = this.g;
    for (let p = g.pairFirst[a]!; p < g.pairFirst[a + 1]!; p++) {
      const first = g.pairStart[p]!;
      if (!this.intact(first, first + 1) || (g.to[first] === b && !this.intact(first, g.pairStart[p + 1]!))) {
        return again && this.openBetween(a, b, t, false);
      }
      if (g.to[first] !== b) continue;
      let lo = first;
      let hi = g.pairStart[p + 1]!;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (g.start[mid]! <= t) lo = mid + 1;
        else hi = mid;
      }
      // Contacts [first, lo) start by t; reachEnd says whether any of them is still open.
      return lo > first && g.reachEnd[lo - 1]! > t;
    }
    return false;
  }

  private decide(bundle: BundleFacts, nowMs: number): RouteDecision | undefined {
    // A repair makes the graph equal the protected copy, so the second try finds nothing; a third
    // would mean the copy cannot be restored: the bundle waits in limbo rather than take a route read from it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const decision = this.decideOnce(bundle, nowMs);
      if (decision !== DAMAGED) return decision;
    }
    this.ch?.noRoute.add();
    return undefined;
  }

  private decideOnce(bundle: BundleFacts, nowMs: number): RouteDecision | undefined | typeof DAMAGED {
    const now = this.planTime(nowMs);
    const deadline = this.planTime(bundle.expiryMs);
    const destination = this.g.indexOf(bundle.destination);
    const ecc = bundle.sizeBytes + this.overhead;
    const entry = this.routesTo(destination, now);
    for (let i = 0; ; i++) {
      // Computing another route reads the whole graph: check it all first.
      if (!entry.list.has(i) && this.repairGraph()) return DAMAGED;
      const cached = entry.list.get(i);
      if (cached === undefined) break;
      for (const c of cached.contacts) if (!this.intact(c, c + 1)) return DAMAGED;
      if (i >= entry.seen) {
        entry.validUntil = Math.min(entry.validUntil, ...cached.contacts.map((c) => this.g.end[c]!));
        entry.seen = i + 1;
      }
      const route = this.usable(cached, now, ecc, bundle);
      if (route === undefined || route.arrival > deadline) continue;
      this.volumes.book(route.contacts, ecc, bundle.priority);
      this.ch?.decisions.add();
      const contact = this.g.plan.contacts[route.contacts[0]!]!;
      return {
        nextHop: route.nextHop,
        contact,
        // From the checked graph, not the plan's objects.
        window: { openMs: this.clockTime(this.g.start[route.contacts[0]!]!), closeMs: this.clockTime(this.g.end[route.contacts[0]!]!) },
        arrivalMs: this.clockTime(route.arrival),
        hops: route.hops,
        booked: route.contacts,
        ecc,
        priority: bundle.priority,
        generation: this.generation,
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
      this.lists++;
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
