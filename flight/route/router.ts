// How the bundle agent asks where a bundle goes next. Two routers answer: the static table of a
// simple mission config (this file), and Contact Graph Routing over a contact plan
// (cgr-router.ts). Words: a *contact* is a window in the plan in which this node may send to a
// neighbour; a convergence-layer *session* is a link that is up now. A static router knows no
// plan: it sends to a neighbour a session is up with. CGR sends only inside contacts.
import { Fields, join } from '../config/fields.js';

/** What Contact Graph Routing needs to know about a bundle (CgrRouter.route in cgr-router.ts). */
export interface BundleFacts {
  readonly destination: number;
  readonly sizeBytes: number;
  /** 0 bulk, 1 normal, 2 expedited. */
  readonly priority: 0 | 1 | 2;
  /** When its lifetime ends, Unix ms (the node's DTN clock). */
  readonly expiryMs: number;
  /** The node it came from; undefined if it originated here. */
  readonly previousHop?: number;
}

/** A plan contact on the node's clock: the bundle may leave in [openMs, closeMs). */
export interface ContactWindow {
  readonly openMs: number;
  readonly closeMs: number;
}

/** Where a bundle goes next. */
export interface Forwarding {
  readonly nextHop: number;
  /** The contact it leaves in (CGR); absent from a static route, which leaves while a session is up. */
  readonly window?: ContactWindow;
}

/** Whether a convergence layer has a session (a link) with `node` now. */
export type SessionUp = (node: number) => boolean;

export interface Router {
  /** The next hop for `bundle` now, or undefined: no route (the bundle waits in limbo). */
  route(bundle: BundleFacts, nowMs: number, sessionUp: SessionUp): Forwarding | undefined;
  /** A decision the bundle will not leave on (routed again, or deleted): what it booked is given back. */
  release(decision: Forwarding): void;
  /** Whether any route leads towards `node`, now or later (a table entry, a node the plan names). */
  reaches(node: number): boolean;
  /** The neighbours the plan has a contact with now (either way), ascending; a router without a plan: none. */
  openContacts(nowMs: number): number[];
  /** Whether the plan has a contact with `node` (either way) open now; a router without a plan: always. */
  contactOpen(node: number, nowMs: number): boolean;
  /** Route lists computed so far: the dispatcher bounds how many one slot computes. */
  readonly computations: number;
}

/**
 * The `routes` section of a mission config: destination node -> next-hop node, with "*" as the
 * default route. A bundle goes straight to its destination when a session with it is up, else to
 * the table's next hop when a session with that is up; else it has no route now.
 */
export class StaticRouter implements Router {
  readonly computations = 0;

  constructor(
    private readonly table: ReadonlyMap<number, number>,
    private readonly fallback: number | undefined,
  ) {}

  route(bundle: BundleFacts, _nowMs: number, sessionUp: SessionUp): Forwarding | undefined {
    if (sessionUp(bundle.destination)) return { nextHop: bundle.destination };
    const hop = this.nextHop(bundle.destination);
    return hop !== undefined && sessionUp(hop) ? { nextHop: hop } : undefined;
  }

  release(): void {}

  reaches(node: number): boolean {
    return this.nextHop(node) !== undefined;
  }

  contactOpen(): boolean {
    return true;
  }

  openContacts(): number[] {
    return [];
  }

  /** The table's next hop for `destination`, whether or not a session is up with it. */
  nextHop(destination: number): number | undefined {
    return this.table.get(destination) ?? this.fallback;
  }

  /** Every node this router may hand bundles to. */
  neighbours(): number[] {
    const hops = new Set(this.table.values());
    if (this.fallback !== undefined) hops.add(this.fallback);
    return [...hops];
  }
}

export function parseStaticRoutes(f: Fields, raw: unknown, field: string): StaticRouter {
  const table = new Map<number, number>();
  let fallback: number | undefined;
  if (raw === undefined) return new StaticRouter(table, fallback);
  for (const [key, value] of Object.entries(f.object(raw, field))) {
    const hop = f.integer(value, join(field, key), 1);
    if (key === '*') {
      fallback = hop;
      continue;
    }
    if (!/^[1-9][0-9]*$/.test(key)) f.fail(join(field, key), 'a destination node number or "*"', key);
    table.set(Number(key), hop);
  }
  return new StaticRouter(table, fallback);
}
