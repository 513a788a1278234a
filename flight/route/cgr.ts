// Contact Graph Routing's search (CCSDS 734.3-B-1 SABR, as ION's libcgr builds it): Dijkstra
// over the contact graph, contacts as vertices. A bundle reaching contact c's receiving node at
// time a can take contact d from that node when d.end > a; it arrives at max(a, d.start) + d.owlt.
// Routes are ordered by SABR's tie-breaks: earliest arrival, then fewest hops, then the later-ending
// first contact, then the smaller entry node (the first hop's receiver).
import type { ContactGraph } from './graph.js';
import { MinHeap } from './heap.js';

export interface Route {
  /** Contact ids (plan.contacts indexes), first hop first. */
  readonly contacts: readonly number[];
  /** Arrival time at each contact's receiving node, plan seconds. */
  readonly arrivals: readonly number[];
  readonly arrival: number;
  readonly hops: number;
  /** Node number of the first hop's receiver. */
  readonly nextHop: number;
  /** End of the first contact: a route is usable until then at the latest. */
  readonly firstEnd: number;
}

/** SABR's order of two routes (or labels): negative when `a` is the better one. */
export function compareRoutes(
  a: { arrival: number; hops: number; firstEnd: number; nextHop: number },
  b: { arrival: number; hops: number; firstEnd: number; nextHop: number },
): number {
  return a.arrival - b.arrival || a.hops - b.hops || b.firstEnd - a.firstEnd || a.nextHop - b.nextHop;
}

/** Where a search starts: a node at a time, after a root path already taken (Yen's spur). */
export interface SearchStart {
  node: number; // dense index
  time: number;
  /** Contacts already taken to get there, for Yen's spurs; empty from the source. */
  root: readonly number[];
  /** Dense node indexes the route may not enter (the source and the root path's nodes). */
  visited: Uint8Array;
  /** Contact ids the search may not use. */
  excluded?: ReadonlySet<number>;
  /** When the root path left the source (default: `time`). */
  departure?: number;
}

interface Labels {
  arr: Float64Array;
  hops: Int32Array;
  firstEnd: Float64Array;
  entry: Float64Array;
  pred: Int32Array;
  settled: Uint8Array;
}

/**
 * Searches from `start`. With a destination, returns the best route to it (root included) or
 * undefined; with destination -1, fills `nodeArrival` with the earliest arrival at every node.
 */
export function searchContacts(g: ContactGraph, start: SearchStart, destination: number, nodeArrival?: Float64Array): Route | undefined {
  const n = g.contactCount;
  const L: Labels = {
    arr: new Float64Array(n).fill(Infinity),
    hops: new Int32Array(n),
    firstEnd: new Float64Array(n),
    entry: new Float64Array(n),
    pred: new Int32Array(n).fill(-1),
    settled: new Uint8Array(n),
  };
  // Heap entries are snapshots of a label when pushed; an entry is stale once its contact settles.
  const eArr: number[] = [];
  const eHops: number[] = [];
  const eEnd: number[] = [];
  const eEntry: number[] = [];
  const eContact: number[] = [];
  const heap = new MinHeap((x, y) =>
    eArr[x]! - eArr[y]! < 0 || (eArr[x] === eArr[y] && (eHops[x]! - eHops[y]! < 0 || (eHops[x] === eHops[y] &&
      (eEnd[x]! > eEnd[y]! || (eEnd[x] === eEnd[y] && eEntry[x]! < eEntry[y]!))))));
  const { excluded, visited, root } = start;
  const rootHops = root.length;
  const rootFirstEnd = rootHops > 0 ? g.end[root[0]!]! : 0;
  const rootEntry = rootHops > 0 ? g.nodes[g.to[root[0]!]!]! : 0;

  // Without a destination only arrival times are asked for: the tie-breaks, which would relabel a
  // contact once per better-ranked predecessor, are left out.
  const tieBreaks = destination >= 0;
  const better = (d: number, arrival: number, hops: number, firstEnd: number, entry: number): boolean =>
    arrival < L.arr[d]! || (tieBreaks && arrival === L.arr[d] && (hops < L.hops[d]! || (hops === L.hops[d] &&
      (firstEnd > L.firstEnd[d]! || (firstEnd === L.firstEnd[d] && entry < L.entry[d]!)))));
  const relax = (d: number, arrival: number, hops: number, firstEnd: number, entry: number, pred: number): void => {
    L.arr[d] = arrival;
    L.hops[d] = hops;
    L.firstEnd[d] = firstEnd;
    L.entry[d] = entry;
    L.pred[d] = pred;
    eArr.push(arrival);
    eHops.push(hops);
    eEnd.push(firstEnd);
    eEntry.push(entry);
    eContact.push(d);
    heap.push(eContact.length - 1);
  };
  // Loop avoidance: a route never re-enters a node it has passed through.
  const onPath = (c: number, node: number): boolean => {
    if (visited[node]) return true;
    for (let x = c; x >= 0; x = L.pred[x]!) if (g.to[x] === node) return true;
    return false;
  };

  const u = start.node;
  for (let d = g.outFirst[u]!; d < g.outFirst[u + 1]!; d++) {
    if (g.end[d]! <= start.time || excluded?.has(d) || visited[g.to[d]!]) continue;
    const first = rootHops === 0;
    const arrival = Math.max(start.time, g.start[d]!) + g.owlt[d]!;
    const firstEnd = first ? g.end[d]! : rootFirstEnd;
    const entry = first ? g.nodes[g.to[d]!]! : rootEntry;
    if (better(d, arrival, rootHops + 1, firstEnd, entry)) relax(d, arrival, rootHops + 1, firstEnd, entry, -1);
  }
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) {
    const c = eContact[e]!;
    if (L.settled[c]) continue;
    L.settled[c] = 1;
    const v = g.to[c]!;
    const a = L.arr[c]!;
    if (v === destination) return routeOf(g, root, start.departure ?? start.time, L.pred, c);
    if (nodeArrival && a < nodeArrival[v]!) nodeArrival[v] = a;
    const hops = L.hops[c]! + 1;
    const firstEnd = L.firstEnd[c]!;
    const entry = L.entry[c]!;
    // Each neighbour's contacts are sorted by start: skip those over before a by binary search.
    for (let p = g.pairFirst[v]!; p < g.pairFirst[v + 1]!; p++) {
      let lo = g.pairStart[p]!;
      const hi = g.pairStart[p + 1]!;
      for (let h = hi; lo < h;) {
        const mid = (lo + h) >> 1;
        if (g.reachEnd[mid]! > a) h = mid;
        else lo = mid + 1;
      }
      for (let d = lo; d < hi; d++) {
        if (L.settled[d] || g.end[d]! <= a) continue;
        const arrival = Math.max(a, g.start[d]!) + g.owlt[d]!;
        if (!better(d, arrival, hops, firstEnd, entry) || excluded?.has(d) || onPath(c, g.to[d]!)) continue;
        relax(d, arrival, hops, firstEnd, entry, c);
      }
    }
  }
  return undefined;
}

/** The route of root + the predecessor chain ending at `last`, leaving the source at `departure`. */
function routeOf(g: ContactGraph, root: readonly number[], departure: number, pred: Int32Array, last: number): Route {
  const tail: number[] = [];
  for (let x = last; x >= 0; x = pred[x]!) tail.push(x);
  return makeRoute(g, [...root, ...tail.reverse()], departure);
}

/** A route over `contacts` leaving the source at `departure`. */
export function makeRoute(g: ContactGraph, contacts: readonly number[], departure: number): Route {
  const arrivals: number[] = [];
  let a = departure;
  for (const c of contacts) {
    a = Math.max(a, g.start[c]!) + g.owlt[c]!;
    arrivals.push(a);
  }
  const first = contacts[0]!;
  return {
    contacts,
    arrivals,
    arrival: arrivals[arrivals.length - 1]!,
    hops: contacts.length,
    nextHop: g.nodes[g.to[first]!]!,
    firstEnd: g.end[first]!,
  };
}

/** Earliest arrival at every node from `source` (dense index) at `time`, by contact-graph Dijkstra. */
export function contactGraphArrivals(g: ContactGraph, source: number, time: number): Float64Array {
  const arrival = new Float64Array(g.nodes.length).fill(Infinity);
  const visited = new Uint8Array(g.nodes.length);
  visited[source] = 1;
  searchContacts(g, { node: source, time, root: [], visited }, -1, arrival);
  return arrival;
}
