// The contact plan in use, protected. CGR searches the plan's ContactGraph: typed arrays on the JS
// heap, read in the innermost loops of Yen's algorithm, where a read through region accessors per
// field would cost every route computation a block check. So the region holds the canonical copy
// (per contact: from, to, start, end, rate, owlt as f64, after a count), and the router checks
// its graph against it before every decision and every contact-open question, repairing the
// graph in place from the region (itself corrected by SEC-DED or reloaded from its golden copy).
// An upset in either copy then never reaches a route decision.
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

  /** Compares the graph with the protected copy (read through the region, so corrected first) and
   *  writes back every field that differs, reachEnd (which follows from the ends) included; true
   *  if any did. */
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
