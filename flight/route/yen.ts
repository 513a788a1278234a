// Yen's k shortest routes over the contact graph, generated lazily: the router asks for the next
// route only when the ones it has cannot carry a bundle (volume, lifetime, loop avoidance).
// Each new route comes from a spur search at every contact of the last route found, with the
// contacts that routes sharing that root took next excluded, and the root's nodes not re-entered.
import { compareRoutes, searchContacts, type Route } from './cgr.js';
import type { ContactGraph } from './graph.js';

export class RouteList {
  /** Routes found so far, in SABR order. */
  readonly routes: Route[] = [];
  private readonly candidates: Route[] = [];
  private readonly seen = new Set<string>();
  private exhausted = false;

  constructor(
    private readonly g: ContactGraph,
    private readonly source: number, // dense index
    private readonly destination: number, // dense index
    /** Plan time the routes leave the source. */
    readonly departure: number,
    private readonly maxRoutes: number,
  ) {
    if (source < 0 || destination < 0 || source === destination) this.exhausted = true;
  }

  /** Whether get(i) answers without computing: route i is found, or known not to exist. */
  has(i: number): boolean {
    return i < this.routes.length || this.exhausted;
  }

  /** The i-th best route, computing routes up to it; undefined past the last route (or maxRoutes). */
  get(i: number): Route | undefined {
    while (this.routes.length <= i && !this.exhausted) this.next();
    return this.routes[i];
  }

  private next(): void {
    if (this.routes.length >= this.maxRoutes) {
      this.exhausted = true;
      return;
    }
    if (this.routes.length === 0) {
      this.offer(this.spur([], this.source, this.departure));
    } else {
      const last = this.routes[this.routes.length - 1]!;
      for (let i = -1; i < last.contacts.length - 1; i++) {
        const root = last.contacts.slice(0, i + 1);
        const node = i < 0 ? this.source : this.g.to[root[i]!]!;
        const time = i < 0 ? this.departure : last.arrivals[i]!;
        this.offer(this.spur(root, node, time));
      }
    }
    const best = this.candidates.shift();
    if (best === undefined) this.exhausted = true;
    else this.routes.push(best);
  }

  private spur(root: readonly number[], node: number, time: number): Route | undefined {
    const excluded = new Set<number>();
    for (const r of this.routes) {
      if (r.contacts.length > root.length && root.every((c, k) => r.contacts[k] === c)) excluded.add(r.contacts[root.length]!);
    }
    const visited = new Uint8Array(this.g.nodes.length);
    visited[this.source] = 1;
    for (const c of root) visited[this.g.to[c]!] = 1;
    visited[node] = 1;
    return searchContacts(this.g, { node, time, root, visited, excluded, departure: this.departure }, this.destination);
  }

  private offer(route: Route | undefined): void {
    if (!route) return;
    const key = route.contacts.join(',');
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const at = this.candidates.findIndex((c) => compareRoutes(route, c) < 0);
    this.candidates.splice(at < 0 ? this.candidates.length : at, 0, route);
  }
}
