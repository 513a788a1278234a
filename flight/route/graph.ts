// A contact plan compiled for search: dense node indexes and the contacts' fields in typed
// arrays. plan.contacts is sorted by (from, to, start) and a pair's contacts never overlap, so
// each node's outgoing contacts are one slice, and each (from, to) pair a sub-slice sorted by start.
import type { ContactPlan } from './plan.js';

export class ContactGraph {
  /** Node number of each dense index, ascending. */
  readonly nodes: readonly number[];
  private readonly index = new Map<number, number>();
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly owlt: Float64Array;
  readonly rate: Float64Array;
  /** The latest end among a pair's contacts up to this one (= end when a pair's contacts are disjoint). */
  readonly reachEnd: Float64Array;
  /** Contacts leaving node u: outFirst[u] .. outFirst[u + 1]. */
  readonly outFirst: Int32Array;
  /** (from, to) pairs leaving node u: pairFirst[u] .. pairFirst[u + 1]; pair p covers contacts pairStart[p] .. pairStart[p + 1]. */
  readonly pairFirst: Int32Array;
  readonly pairStart: Int32Array;

  constructor(readonly plan: ContactPlan) {
    this.nodes = plan.nodes;
    plan.nodes.forEach((n, i) => this.index.set(n, i));
    const n = plan.contacts.length;
    this.from = new Int32Array(n);
    this.to = new Int32Array(n);
    this.start = new Float64Array(n);
    this.end = new Float64Array(n);
    this.owlt = new Float64Array(n);
    this.rate = new Float64Array(n);
    this.reachEnd = new Float64Array(n);
    this.outFirst = new Int32Array(plan.nodes.length + 1);
    this.pairFirst = new Int32Array(plan.nodes.length + 1);
    const pairStart: number[] = [];
    plan.contacts.forEach((c, i) => {
      this.from[i] = this.index.get(c.from)!;
      this.to[i] = this.index.get(c.to)!;
      this.start[i] = c.start;
      this.end[i] = c.end;
      this.owlt[i] = c.owlt;
      this.rate[i] = c.rate;
      const newPair = i === 0 || this.from[i] !== this.from[i - 1] || this.to[i] !== this.to[i - 1];
      if (newPair) pairStart.push(i);
      this.reachEnd[i] = newPair ? c.end : Math.max(c.end, this.reachEnd[i - 1]!);
    });
    pairStart.push(n);
    this.pairStart = Int32Array.from(pairStart);
    // Slice boundaries: the first contact and the first pair of each node (empty slices for nodes with none).
    let c = 0;
    let p = 0;
    for (let u = 0; u <= plan.nodes.length; u++) {
      while (c < n && this.from[c]! < u) c++;
      while (p < pairStart.length - 1 && this.from[pairStart[p]!]! < u) p++;
      this.outFirst[u] = c;
      this.pairFirst[u] = p;
    }
  }

  /** Dense index of node number `node`, or -1 if the plan does not name it. */
  indexOf(node: number): number {
    return this.index.get(node) ?? -1;
  }

  get contactCount(): number {
    return this.from.length;
  }
}
