// The contact plan in use, protected (flight/route/plan-guard.ts): CGR decisions on the tutorial
// plan are those of an unprotected router on an undamaged plan while upsets land in the graph the
// router searches, in the guard's heap copy and in the protected region; a decision from warm route
// lists checks only the contacts it reads, yet a flip in one of them is caught before a bundle
// leaves on it; and a plan larger than the region is refused.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { Prng, SeuInjector, type UpsetPattern } from '../../flight/ecc/injector.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import { ProtectedPlan } from '../../flight/route/plan-guard.js';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter, type RouteDecision } from '../../flight/route/cgr-router.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import type { ContactGraph } from '../../flight/route/graph.js';
import { readPlanFile } from '../../flight/route/plan-load.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

const CORE = new Core();
const TUTORIAL = new URL('../../../shared/vectors/cgr/cgr-tutorial.ion.txt', import.meta.url).pathname;
const EPOCH = Date.UTC(2026, 0, 1);
const PLAN = readPlanFile(TUTORIAL);

function protectedRouter(capacity = 64, guardOf: (p: ProtectedPlan) => ProtectedPlan = (p) => p) {
  const tlm = new TelemetryRegistry();
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const events: EventRecord[] = [];
  log.onEvent((e) => events.push(e));
  const dir = mkdtempSync(join(tmpdir(), 'tern-ecc-plan-'));
  const p = new NodeProtection({ core: CORE, tlm, events: log, dir, config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
  const router = new CgrRouter(1, PLAN, { epochMs: EPOCH, overheadBytes: 0 });
  router.protect(guardOf(new ProtectedPlan(p.region, log, capacity)));
  return { router, p, events, region: p.find('contact-plan')!, value: (name: string) => tlm.get(name)!.value };
}

/** The graph the router searches (private): where an upset in the JS heap's typed arrays lands. */
const graphOf = (r: CgrRouter): ContactGraph => (r as unknown as { g: ContactGraph }).g;

/** Flips one bit of the sign or exponent (the top two bytes) of a random contact field the
 *  search reads: a low mantissa bit seldom changes a decision on this plan, these always matter. */
function flipGraph(g: ContactGraph, prng: Prng): void {
  const arrays = [g.start, g.end, g.owlt, g.rate, g.reachEnd];
  const a = arrays[prng.below(arrays.length)]!;
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  bytes[8 * prng.below(a.length) + 6 + prng.below(2)]! ^= 1 << prng.below(8);
}

const summary = (d: RouteDecision | undefined) => d && [d.nextHop, d.contact.id, d.arrivalMs, d.hops, d.window.openMs, d.window.closeMs];

/** Flips a bit of an f64's top byte: by default the exponent's highest bit (20 s becomes about
 *  1e-307 s); 0x01, its fifth bit, scales the value by 2^16 or 2^-16. */
function flipExponent(a: Float64Array, i: number, mask = 0x40): void {
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength)[8 * i + 7]! ^= mask;
}

/** Bundles to every node of the plan from several times; `between` runs before each decision. */
function decisions(router: CgrRouter, between: () => void): unknown[] {
  const out: unknown[] = [];
  for (const t of [0, 5, 12, 25, 40]) {
    for (const destination of [2, 3, 4, 5]) {
      for (const sizeBytes of [3, 5]) {
        between();
        const at = EPOCH + t * 1000;
        out.push(summary(router.route({ destination, sizeBytes, priority: 1, expiryMs: at + 1_000_000 }, at) as RouteDecision | undefined));
        out.push(router.openContacts(at));
      }
    }
  }
  return out;
}

const reference = decisions(new CgrRouter(1, PLAN, { epochMs: EPOCH, overheadBytes: 0 }), () => {});

describe('protected contact plan', () => {
  it('an unprotected router decides differently once its graph is hit (what the guard is for)', () => {
    const router = new CgrRouter(1, PLAN, { epochMs: EPOCH, overheadBytes: 0 });
    const prng = new Prng(7);
    expect(decisions(router, () => flipGraph(graphOf(router), prng))).not.toEqual(reference);
  });

  it('repairs upsets in the graph the router searches: the same decisions, each repair reported', () => {
    const { router, events } = protectedRouter();
    const prng = new Prng(7);
    expect(decisions(router, () => flipGraph(graphOf(router), prng))).toEqual(reference);
    expect(events.filter((e) => e.name === 'ECC_PLAN_REPAIRED').length).toBeGreaterThan(0);
  });

  // The route list to 5 is warm, then a flip lands in a contact of its best route, one that leaves
  // the route usable (so no other route is computed, which would check the whole plan).
  it.each([
    ['the first contact ends 2^16 times later (the bundle would be sent after it closed)', 'end', 0],
    ['the second contact takes 2^-16 of its light time (a wrong arrival)', 'owlt', 1],
  ] as const)('catches a flip in a contact of a cached route before a bundle leaves on it: %s', (_, field, hop) => {
    const bundle = { destination: 5, sizeBytes: 3, priority: 1 as const, expiryMs: EPOCH + 1_000_000 };
    const unprotected = new CgrRouter(1, PLAN, { epochMs: EPOCH, overheadBytes: 0 });
    const { router, events } = protectedRouter();
    const first = router.route(bundle, EPOCH)!;
    expect(summary(unprotected.route(bundle, EPOCH))).toEqual(summary(first));
    expect(first.hops).toBeGreaterThan(1);
    const hit = first.booked[hop]!;
    flipExponent(graphOf(unprotected)[field], hit, 0x01);
    flipExponent(graphOf(router)[field], hit, 0x01);
    expect(summary(unprotected.route(bundle, EPOCH))).not.toEqual(summary(first)); // what the flip does unguarded
    expect(summary(router.route(bundle, EPOCH))).toEqual(summary(first));
    expect(graphOf(router)[field][hit]).toBe(PLAN.contacts[hit]![field]);
    expect(events.filter((e) => e.name === 'ECC_PLAN_REPAIRED')).toHaveLength(1);
  });

  it('a decision from warm route lists reads the protected region only to compute routes', () => {
    let wholePlanChecks = 0;
    const { router } = protectedRouter(64, (guard) => {
      const repair = guard.repair.bind(guard);
      guard.repair = (g) => (wholePlanChecks++, repair(g));
      return guard;
    });
    const bundle = { destination: 5, sizeBytes: 3, priority: 1 as const, expiryMs: EPOCH + 1_000_000 };
    router.release(router.route(bundle, EPOCH)!);
    const computing = wholePlanChecks;
    expect(computing).toBeGreaterThan(0);
    for (let i = 0; i < 100; i++) router.release(router.route(bundle, EPOCH)!);
    router.contactOpen(3, EPOCH);
    router.openContacts(EPOCH);
    expect(wholePlanChecks).toBe(computing);
  });

  it('repairs upsets in the guard\'s heap copy of the region: the same decisions', () => {
    let mismatches = 0;
    const { router } = protectedRouter(64, (guard) => {
      const intact = guard.intact.bind(guard);
      guard.intact = (g, first, end) => intact(g, first, end) || (mismatches++, false);
      return guard;
    });
    const copy = (router as unknown as { guard: { values: Float64Array } }).guard.values;
    const prng = new Prng(5);
    expect(decisions(router, () => flipExponent(copy, 1 + prng.below(6 * PLAN.contacts.length)))).toEqual(reference);
    // The graph was right: the mismatches found led to a region read that restored the copy.
    expect(mismatches).toBeGreaterThan(0);
  });

  it('a plan whose copies still disagree after a repair routes nothing and opens no contact', () => {
    const { router } = protectedRouter(64, (guard) => {
      guard.intact = () => false; // as if the graph could not be restored from the region
      return guard;
    });
    const at = EPOCH + 5000;
    const plain = new CgrRouter(1, PLAN, { epochMs: EPOCH, overheadBytes: 0 });
    expect(plain.route({ destination: 5, sizeBytes: 3, priority: 1, expiryMs: at + 1_000_000 }, at)).toBeDefined();
    expect(plain.openContacts(at)).toContain(2);
    expect(router.route({ destination: 5, sizeBytes: 3, priority: 1, expiryMs: at + 1_000_000 }, at)).toBeUndefined();
    expect(router.contactOpen(2, at)).toBe(false);
    expect(router.openContacts(at)).toEqual([]);
  });

  it.each(['single', 'double', 'burst'] as UpsetPattern[])('%s upsets in the protected copy: corrected or reloaded, the same decisions', (pattern) => {
    const { router, region, value } = protectedRouter();
    const injector = new SeuInjector(11);
    // The region is 64 contacts; the tutorial's few sit in the first block: aim there too.
    const words = planWords(region.blockBytes);
    expect(decisions(router, () => {
      injector.injectInto(region, pattern);
      injector.injectInto(words, pattern);
    })).toEqual(reference);
    const repaired = value('ecc.region.contact-plan.corrected') + value('ecc.region.contact-plan.reloads');
    expect(repaired).toBeGreaterThan(0);
    if (pattern !== 'single') expect(value('ecc.region.contact-plan.reloads')).toBeGreaterThan(0);
    expect(value('ecc.region.contact-plan.lost')).toBe(0);

    function planWords(blockBytes: number) {
      return { name: region.name, bitsPerCodeword: 72, segments: 1, codewords: Math.min(blockBytes, 8 * (1 + 6 * PLAN.contacts.length)) / 8, flip: (w: number, b: number) => region.flip(w, b) };
    }
  });

  it('scrubbing finds upsets in the protected copy between decisions', () => {
    const { region, value } = protectedRouter();
    const injector = new SeuInjector(3);
    for (let i = 0; i < 10; i++) injector.injectInto(region, 'single');
    for (let b = 0; b < region.blocks; b++) region.scrubBlock(b);
    expect(value('ecc.region.contact-plan.corrected')).toBe(10);
  });

  it('refuses a plan larger than the region, keeping the plan in use', () => {
    const { router } = protectedRouter(PLAN.contacts.length);
    const bigger = { ...PLAN, contacts: [...PLAN.contacts, { ...PLAN.contacts[0]!, id: PLAN.contacts.length, start: 1e6, end: 1e6 + 10 }] };
    expect(() => router.setPlan(bigger)).toThrow(ContactPlanError);
    expect(router.plan).toBe(PLAN);
    expect(decisions(router, () => {})).toEqual(reference);
  });
});
