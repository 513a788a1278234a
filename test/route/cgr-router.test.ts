import { describe, expect, it } from 'vitest';
import { CgrRouter, type BundleFacts } from '../../flight/route/cgr-router.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import { readPlanFile } from '../../flight/route/plan-load.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';

const TUTORIAL = new URL('../../../shared/vectors/cgr/cgr-tutorial.ion.txt', import.meta.url).pathname;
// The tutorial plan is relative: plan time 0 is this Unix time on the node's clock.
const EPOCH = Date.UTC(2026, 0, 1);
const at = (seconds: number): number => EPOCH + seconds * 1000;

function router(): { r: CgrRouter; tlm: TelemetryRegistry } {
  const tlm = new TelemetryRegistry();
  // Rates are 1 byte/s in the tutorial: volumes are tens of bytes, so no framing overhead here.
  return { r: new CgrRouter(1, readPlanFile(TUTORIAL), { epochMs: EPOCH, overheadBytes: 0 }, tlm), tlm };
}

const bundle = (over: Partial<BundleFacts> = {}): BundleFacts => ({ destination: 5, sizeBytes: 5, priority: 1, expiryMs: at(1000), ...over });

describe('CGR router', () => {
  it('routes over the best route, its first contact and arrival', () => {
    const { r } = router();
    const d = r.route(bundle(), at(0))!;
    expect(d.nextHop).toBe(3);
    expect(d.hops).toBe(3);
    expect(d.arrivalMs).toBe(at(3));
    expect([d.contact.from, d.contact.to, d.contact.start, d.contact.end]).toEqual([1, 3, 0, 60]);
    expect(d.window).toEqual({ openMs: at(0), closeMs: at(60) });
  });

  it('volume: a contact too small for two bundles sends the second over the next route', () => {
    const { r, tlm } = router();
    // 4 -> 5 (0-10) carries 8 bytes after the bundle reaches 4 at 2: one 5-byte bundle.
    expect(r.route(bundle(), at(0))!.arrivalMs).toBe(at(3));
    const second = r.route(bundle(), at(0))!;
    expect(second.nextHop).toBe(5); // 1 -> 2 -> 3 -> 4 -> 5 needs the same full contact: 1 -> 5 at 10-20
    expect(second.arrivalMs).toBe(at(11));
    expect(r.route(bundle(), at(0))!.arrivalMs).toBe(at(11)); // 10 bytes on 1 -> 5: room for two
    expect(r.route(bundle(), at(0))!.arrivalMs).toBe(at(31));
    expect(tlm.get('route.routesSkippedVolume')!.value).toBeGreaterThan(0);
    // Released bookings make room again.
    const { r: fresh } = router();
    const first = fresh.route(bundle(), at(0))!;
    fresh.release(first);
    expect(fresh.route(bundle(), at(0))!.arrivalMs).toBe(at(3));
  });

  it('volume by priority: expedited bundles do not see bulk bookings, bulk ones see everything', () => {
    const { r } = router();
    expect(r.route(bundle({ priority: 0 }), at(0))!.arrivalMs).toBe(at(3));
    expect(r.route(bundle({ priority: 2 }), at(0))!.arrivalMs).toBe(at(3));
    expect(r.route(bundle({ priority: 0 }), at(0))!.arrivalMs).toBe(at(11));
  });

  it("prunes routes by the bundle's lifetime, and leaves it in limbo when none is left", () => {
    const { r, tlm } = router();
    expect(r.route(bundle({ expiryMs: at(12) }), at(0))!.arrivalMs).toBe(at(3));
    expect(r.route(bundle({ expiryMs: at(12) }), at(0))!.arrivalMs).toBe(at(11));
    expect(r.route(bundle({ expiryMs: at(12) }), at(0))!.arrivalMs).toBe(at(11));
    expect(r.route(bundle({ expiryMs: at(12) }), at(0))).toBeUndefined();
    expect(tlm.get('route.noRoute')!.value).toBe(1);
  });

  it('never sends a bundle back where it came from, unless that is its destination', () => {
    const { r } = router();
    expect(r.route(bundle({ previousHop: 3 }), at(0))!.nextHop).toBe(2);
    expect(r.route(bundle({ previousHop: 3, sizeBytes: 0 }), at(0))!.arrivalMs).toBe(at(4));
    const { r: r2 } = router();
    expect(r2.route(bundle({ destination: 2, previousHop: 2 }), at(0))!.nextHop).toBe(2);
  });

  it('keeps route lists warm, and recomputes them when a contact on one ends or the plan changes', () => {
    const { r, tlm } = router();
    const lists = tlm.get('route.routeLists')!;
    for (let i = 0; i < 3; i++) r.route(bundle({ sizeBytes: 0 }), at(i));
    expect(lists.value).toBe(1);
    // 4 -> 5 (0-10), on the best route, has ended at 10: the list is computed again from 11.
    const later = r.route(bundle({ sizeBytes: 0 }), at(11))!;
    expect(lists.value).toBe(2);
    expect([later.nextHop, later.arrivalMs]).toEqual([5, at(12)]);
    r.setPlan(readPlanFile(TUTORIAL));
    r.route(bundle({ sizeBytes: 0 }), at(11));
    expect(lists.value).toBe(3);
  });

  it('has no route to a node the plan does not name, nor from a node it does not name', () => {
    const { r } = router();
    expect(r.route(bundle({ destination: 99 }), at(0))).toBeUndefined();
    const stranger = new CgrRouter(42, readPlanFile(TUTORIAL), { epochMs: EPOCH });
    expect(stranger.route(bundle(), at(0))).toBeUndefined();
  });

  it('refuses a relative plan without the mission epoch, keeping the plan it has', () => {
    expect(() => new CgrRouter(1, readPlanFile(TUTORIAL))).toThrow(ContactPlanError);
    const { r } = router();
    const epochless = new CgrRouter(1, { ...readPlanFile(TUTORIAL), epochMs: 0 }, { overheadBytes: 0 });
    expect(() => epochless.setPlan(readPlanFile(TUTORIAL))).toThrow('plan: epoch: expected an epoch');
    expect(epochless.route(bundle({ expiryMs: 1_000_000 }), 0)!.nextHop).toBe(3);
    expect(r.route(bundle(), at(0))!.nextHop).toBe(3);
  });
});
