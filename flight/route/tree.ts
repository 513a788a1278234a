// The earliest arrival at every node from one source in a single pass, nodes as vertices: for a
// large plan, the answer contact-graph Dijkstra gives (cgr.ts's contactGraphArrivals) at a
// fraction of the cost. A node is settled once, at its earliest arrival a; from it, each
// neighbour's contacts are sorted by start, so a binary search on the running latest end skips
// every contact over before a, and later ones help only while they start before the best
// arrival found so far.
import type { ContactGraph } from './graph.js';
import { MinHeap } from './heap.js';

/** Earliest arrival (plan seconds, Infinity if unreachable) at each dense node index. */
export function earliestArrivals(g: ContactGraph, source: number, time: number): Float64Array {
  const arrival = new Float64Array(g.nodes.length).fill(Infinity);
  const settled = new Uint8Array(g.nodes.length);
  // Entries hold the arrival when pushed: a node's label may drop while an older entry waits.
  const eTime: number[] = [];
  const eNode: number[] = [];
  const heap = new MinHeap((x, y) => eTime[x]! < eTime[y]!);
  const push = (v: number, t: number): void => {
    eTime.push(t);
    eNode.push(v);
    heap.push(eNode.length - 1);
  };
  const { start, end, reachEnd, owlt, pairFirst, pairStart, to } = g;
  arrival[source] = time;
  push(source, time);
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) {
    const u = eNode[e]!;
    if (settled[u]) continue;
    settled[u] = 1;
    const a = arrival[u]!;
    for (let p = pairFirst[u]!; p < pairFirst[u + 1]!; p++) {
      let lo = pairStart[p]!;
      const hi = pairStart[p + 1]!;
      const v = to[lo]!;
      if (settled[v]) continue;
      let h = hi;
      while (lo < h) {
        const mid = (lo + h) >> 1;
        if (reachEnd[mid]! > a) h = mid;
        else lo = mid + 1;
      }
      let best = arrival[v]!;
      for (let c = lo; c < hi && start[c]! < best; c++) {
        if (end[c]! <= a) continue;
        const t = (a > start[c]! ? a : start[c]!) + owlt[c]!;
        if (t < best) best = t;
      }
      if (best < arrival[v]!) {
        arrival[v] = best;
        push(v, best);
      }
    }
  }
  return arrival;
}

/** The tree as the CLI and the vectors print it: node number -> arrival, the source left out. */
export function arrivalsByNode(g: ContactGraph, arrival: Float64Array, source: number): Record<string, number> {
  const out: Record<string, number> = {};
  arrival.forEach((t, i) => {
    if (i !== source && t !== Infinity) out[String(g.nodes[i])] = t;
  });
  return out;
}
