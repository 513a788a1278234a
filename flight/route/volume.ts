// Contact volume booking (SABR's estimated capacity consumption, as ION keeps a contact's
// "maximum transmission volume" per priority). A bundle routed over a contact books its ECC on
// every contact of its route at its priority; higher priority traffic goes first, so a bundle of
// priority p sees the volume left after everything booked at p or above.
import type { ContactGraph } from './graph.js';

/** Bulk, normal, expedited (RFC 9171's class of service, as the store names them). */
export type PriorityLevel = 0 | 1 | 2;
const LEVELS = 3;

export class ContactVolumes {
  /** booked[c * 3 + p]: bytes booked on contact c by bundles of priority p or above. */
  private readonly booked: Float64Array;

  constructor(private readonly g: ContactGraph) {
    this.booked = new Float64Array(g.contactCount * LEVELS);
  }

  /** Bytes contact c can still carry for priority p once the bundle is there at `from` (plan seconds). */
  residual(c: number, p: PriorityLevel, from: number): number {
    const open = this.g.end[c]! - Math.max(this.g.start[c]!, from);
    return open * this.g.rate[c]! - this.booked[c * LEVELS + p]!;
  }

  book(contacts: readonly number[], ecc: number, p: PriorityLevel): void {
    for (const c of contacts) for (let q = 0; q <= p; q++) this.booked[c * LEVELS + q]! += ecc;
  }

  release(contacts: readonly number[], ecc: number, p: PriorityLevel): void {
    for (const c of contacts) for (let q = 0; q <= p; q++) this.booked[c * LEVELS + q] = Math.max(0, this.booked[c * LEVELS + q]! - ecc);
  }
}
