// How the bundle agent asks where a bundle goes next. The static table from the mission config
// answers today; Contact Graph Routing (cgr-router.ts) answers the same interface, and with a
// bundle's facts, the contact it leaves on.
import { Fields, join } from '../config/fields.js';

export interface Router {
  /** The neighbour node to hand a bundle for `destination` to, or undefined if none is known. */
  nextHop(destination: number, nowMs: number): number | undefined;
}

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

/**
 * The `routes` section of a mission config: destination node -> next-hop node, with "*" as the
 * default route. A neighbour must be reachable through a convergence layer; the agent checks that.
 */
export class StaticRouter implements Router {
  constructor(
    private readonly table: ReadonlyMap<number, number>,
    private readonly fallback: number | undefined,
  ) {}

  nextHop(destination: number, _nowMs?: number): number | undefined {
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
