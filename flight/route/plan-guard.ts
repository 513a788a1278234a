// The contact plan in use, protected. CGR searches the plan's ContactGraph: typed arrays on the JS
// heap, read in the innermost loops of Yen's algorithm, where a read through region accessors per
// field would cost every route computation a block check. So the region holds the canonical copy
// (per contact: from, to, start, end, rate, owlt as f64, after a count), which the scrubber keeps
// corrected, and the guard keeps a second copy on the heap: the region's contents as last read
// through its checks. Checking the whole graph against the region costs O(contacts) (0.2 ms at
// 1,000), so the router does it only before it computes routes, which read the whole graph
// anyway; a decision from cached routes compares only the contacts it reads with the heap copy.
// Two copies that agree are right (one upset cannot change both alike); where they differ, the
// whole graph is repaired from the region (itself corrected by SEC-DED or reloaded from its golden
// copy) and the decision taken again. An upset in any copy then never reaches a route decision.
import { ECC_EVENTS } from '../ecc/dictionary.js';
import type { RegionMaker } from '../ecc/node.js';
import type { ProtectedRegion } from '../ecc/region.js';
import type { EventLog } from '../tlm/events.js';
import type { CgrRouter, PlanGuard } from './cgr-router.js';
import { ContactPlanError } from './errors.js';
import type { ContactGraph } from './graph.js';
import type { ContactPlan } from './plan.js';

/** f64 fields per contact in the region. */
const FIELDS = 6;

/** Region bytes for `contacts` contacts. */
export function planRegionBytes(contacts: number): number {
  return 8 * (1 + FIELDS * contacts);
}

export class ProtectedPlan implements PlanGuard {
  /** The most contacts a plan may have: the region cannot grow (core memory is never freed). */
  readonly capacity: number;
  private readonly region: ProtectedRegion;
  private readonly values: Float64Array;
  private readonly bytes: Uint8Array;

  constructor(makeRegion: RegionMaker, private readonly events: EventLog, capacity: number) {
    this.capacity = capacity;
    this.values = new Float64Array(1 + FIELDS * capacity);
    this.bytes = new Uint8Array(this.values.buffer);
    this.region = makeRegion('contact-plan', new Uint8Array(planRegionBytes(capacity)), true);
  }

  /** Takes the plan the router is about to use, committed to the golden copy; a plan larger than
   *  the region is refused before anything changes. */
  store(plan: ContactPlan): void {
    const n = plan.contacts.length;
    if (n > this.capacity) throw new ContactPlanError('plan', 'contacts', `at most ${this.capacity} contacts (the protected contact-plan region)`, n);
    const v = this.values;
    v.fill(0);
    v[0] = n;
    plan.contacts.forEach((c, i) => v.set([c.from, c.to, c.start, c.end, c.rate, c.owlt], 1 + FIELDS * i));
    this.region.write(0, this.bytes);
    this.region.commit();
  }

  /** Whether the graph's contacts [first, end) equal the region's contents as last read (the heap
   *  copy), reachEnd included: the check of the contacts one decision reads. False calls for repair(). */
  intact(g: ContactGraph, first: number, end: number): boolean {
    const v = this.values;
    const nodes = g.nodes;
    for (let i = first; i < end; i++) {
      const at = 1 + FIELDS * i;
      if (nodes[g.from[i]!] !== v[at] || nodes[g.to[i]!] !== v[at + 1] || !Object.is(g.start[i], v[at + 2]) || !Object.is(g.end[i], v[at + 3])
        || !Object.is(g.rate[i], v[at + 4]) || !Object.is(g.owlt[i], v[at + 5])) return false;
      const newPair = i === 0 || g.from[i] !== g.from[i - 1] || g.to[i] !== g.to[i - 1];
      if (!Object.is(g.reachEnd[i], newPair ? v[at + 3] : Math.max(v[at + 3]!, g.reachEnd[i - 1]!))) return false;
    }
    return true;
  }

  /** Compares the whole graph with the protected copy (read through the region, so corrected first)
   *  and writes back every field that differs, reachEnd (which follows from the ends) included; true
   *  if any did. The heap copy is the region's contents again afterwards. */
  repair(g: ContactGraph): boolean {
    const n = g.contactCount;
    this.region.readInto(0, this.bytes.subarray(0, planRegionBytes(n)));
    const v = this.values;
    let damaged = 0;
    for (let i = 0; i < n; i++) {
      const at = 1 + FIELDS * i;
      const from = g.indexOf(v[at]!);
      const to = g.indexOf(v[at + 1]!);
      const end = v[at + 3]!;
      const newPair = i === 0 || from !== g.from[i - 1] || to !== g.to[i - 1];
      const reachEnd = newPair ? end : Math.max(end, g.reachEnd[i - 1]!);
      if (g.from[i] === from && g.to[i] === to && Object.is(g.start[i], v[at + 2]) && Object.is(g.end[i], end)
        && Object.is(g.rate[i], v[at + 4]) && Object.is(g.owlt[i], v[at + 5]) && Object.is(g.reachEnd[i], reachEnd)) continue;
      g.from[i] = from;
      g.to[i] = to;
      g.start[i] = v[at + 2]!;
      g.end[i] = end;
      g.rate[i] = v[at + 4]!;
      g.owlt[i] = v[at + 5]!;
      g.reachEnd[i] = reachEnd;
      damaged++;
    }
    if (damaged === 0) return false;
    this.events.emit(ECC_EVENTS.planRepaired, { contacts: damaged });
    return true;
  }
}

/**
 * Keeps the plan `router` uses in region `contact-plan` (critical: a wrong plan misroutes every
 * bundle). Room for four times the plan's contacts, at least 1024: core memory is never freed,
 * so plans taken by command later must fit; a larger one is refused.
 */
export function protectPlan(router: CgrRouter, region: RegionMaker, events: EventLog): void {
  router.protect(new ProtectedPlan(region, events, Math.max(1024, 4 * router.plan.contacts.length)));
}
