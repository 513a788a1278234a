// A mission config's router: the static table alone, or CGR over a contact plan file with the
// table serving the nodes the plan does not name; the plan's windows on the node's clock at the
// configured epoch and time scale.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { ConfigError } from '../../flight/errors.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { MISSION_EPOCH_ENV, parseRouting } from '../../flight/route/config.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import { StaticRouter } from '../../flight/route/router.js';

const EPOCH = Date.UTC(2026, 0, 1);

function missionDir(plan: unknown): Fields {
  const dir = mkdtempSync(join(tmpdir(), 'tern-routing-'));
  writeFileSync(join(dir, 'plan.json'), typeof plan === 'string' ? plan : JSON.stringify(plan));
  return new Fields(join(dir, 'node.json'));
}

const PLAN = {
  format: 'tern-contact-plan/1', epoch: '2022-03-10T00:00:00.000Z',
  contacts: [
    { from: 1, to: 2, start: 60, end: 120, rate: 1000, owlt: 0.01 },
    { from: 2, to: 1, start: 60, end: 120, rate: 1000, owlt: 0.01 },
    { from: 2, to: 3, start: 0, end: 600, rate: 1000, owlt: 0.01 },
  ],
};
const facts = (destination: number) => ({ destination, sizeBytes: 100, priority: 1 as const, expiryMs: Infinity });

describe('routing config', () => {
  it('a config without contactPlan routes by its table', () => {
    expect(parseRouting(new Fields('n.json'), 1, { '3': 2 }, undefined).router).toBeInstanceOf(StaticRouter);
  });

  it('routes by CGR over the plan, at the mission epoch and time scale, and by the table beyond the plan', () => {
    const f = missionDir(PLAN);
    const { router, plan } = parseRouting(f, 1, { '100': 2 }, { file: 'plan.json', epoch: 'mission-start', timeScale: 60 }, { [MISSION_EPOCH_ENV]: String(EPOCH) });
    expect(router).toBeInstanceOf(CgrRouter);
    expect(plan).toMatchObject({ epochMs: EPOCH, timeScale: 60 });
    // Plan second 60 is one real second after the mission epoch at 60x.
    const d = router.route(facts(3), EPOCH, () => false)!;
    expect(d).toMatchObject({ nextHop: 2, window: { openMs: EPOCH + 1000, closeMs: EPOCH + 2000 } });
    expect(router.contactOpen(2, EPOCH + 999)).toBe(false);
    expect(router.contactOpen(2, EPOCH + 1000)).toBe(true);
    expect(router.contactOpen(2, EPOCH + 2000)).toBe(false);
    expect(router.contactOpen(100, EPOCH)).toBe(true); // not the plan's to govern
    // The console (100) is not in the plan: the table, while a session with its next hop is up.
    expect(router.route(facts(100), EPOCH, (n) => n === 2)).toEqual({ nextHop: 2 });
    expect(router.route(facts(100), EPOCH, () => false)).toBeUndefined();
    expect([router.reaches(3), router.reaches(100), router.reaches(77)]).toEqual([true, true, false]);
  });

  it('takes the plan epoch when none is configured, and an ISO epoch over it', () => {
    const f = missionDir(PLAN);
    const own = parseRouting(f, 1, undefined, { file: 'plan.json' }).router;
    expect(own.contactOpen(2, Date.parse(PLAN.epoch) + 60_000)).toBe(true);
    const iso = parseRouting(f, 1, undefined, { file: 'plan.json', epoch: '2026-01-01T00:00:00Z' }).router;
    expect(iso.contactOpen(2, EPOCH + 60_000)).toBe(true);
  });

  it('refuses a bad plan naming its line, and bad settings naming the field', () => {
    const f = missionDir({ ...PLAN, contacts: [{ from: 1, to: 2, start: 10, end: 5, rate: 1000, owlt: 0 }] });
    expect(() => parseRouting(f, 1, undefined, { file: 'plan.json' })).toThrow(ContactPlanError);
    expect(() => parseRouting(f, 1, undefined, { file: 'plan.json', epoch: 'mission-start' }, {})).toThrow(ConfigError);
    expect(() => parseRouting(f, 1, undefined, { file: 'plan.json', epoch: 'mission-start' }, {})).toThrow(`contactPlan.epoch: expected "mission-start" with ${MISSION_EPOCH_ENV}`);
    expect(() => parseRouting(f, 1, undefined, { file: 'plan.json', timeScale: 0 })).toThrow('contactPlan.timeScale');
    expect(() => parseRouting(f, 1, undefined, { file: 'missing.json' })).toThrow('expected a readable contact plan file');
  });

  it('gives a booking back only to the plan it was made on', () => {
    const f = missionDir(PLAN);
    const router = parseRouting(f, 1, undefined, { file: 'plan.json', epoch: '2026-01-01T00:00:00Z' }).router as CgrRouter;
    // 1 -> 2 carries 60 s x 1000 B/s: two 25,000-byte bundles fill it.
    const big = { ...facts(3), sizeBytes: 25_000 };
    const first = router.route(big, EPOCH)!;
    expect(router.route(big, EPOCH)).toBeDefined();
    expect(router.route(big, EPOCH)).toBeUndefined();
    router.setPlan(router.plan); // a new plan (the same contacts): no bookings
    expect(router.route(big, EPOCH)).toBeDefined();
    router.release(first); // made on the old plan: not given back to the new one
    expect(router.route(big, EPOCH)).toBeDefined();
    expect(router.route(big, EPOCH)).toBeUndefined();
  });
});
