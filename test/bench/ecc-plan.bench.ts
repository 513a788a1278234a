// The protected contact plan's cost: a CGR decision from warm route lists with the plan guard
// (the contacts the decision reads checked against the guard's copy; the whole plan is checked
// against region contact-plan only when routes are computed) next to the same decision without
// it, in the same run, for plans of 1,000 and 10,000 contacts. Target (issue 10): <= 20 us per
// warm decision, protected. Figures to test/bench/results/ecc-plan.json.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { protectPlan } from '../../flight/route/plan-guard.js';
import { buildPlan, type ContactDraft } from '../../flight/route/plan.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

/** A ring of six nodes, one contact to the next every 100 s, 300 s long. */
function ringPlan(contacts: number) {
  const drafts: ContactDraft[] = Array.from({ length: contacts }, (_, i) => ({
    where: `c${i}`, from: 1 + (i % 6), to: 1 + ((i + 1) % 6), start: Math.floor(i / 6) * 600, end: Math.floor(i / 6) * 600 + 300, rate: 1e5, owlt: 0.01,
  }));
  return buildPlan(drafts, [], { source: 'bench', epochMs: 0 });
}

it('a route decision with the contact plan protected, next to one without', async () => {
  const core = new Core('simd');
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const sizes = [1000, 10_000];
  const cases: Record<string, { bytes: number; run: () => void }> = {};
  for (const n of sizes) {
    const plan = ringPlan(n);
    for (const guarded of [false, true]) {
      const router = new CgrRouter(1, plan, { epochMs: 0 });
      if (guarded) {
        const p = new NodeProtection({ core, tlm: new TelemetryRegistry(), events, dir: mkdtempSync(join(tmpdir(), 'tern-ecc-plan-bench-')), config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
        protectPlan(router, p.region, events);
      }
      cases[`${guarded ? 'protected' : 'plain'}${n}`] = {
        bytes: 1,
        run: () => {
          // No expect() here: it costs more than the decision.
          const d = router.route({ destination: 4, sizeBytes: 10, priority: 1, expiryMs: 1e12 }, 1000);
          if (d?.nextHop !== 2) throw new Error(`decision ${JSON.stringify(d)}: expected next hop 2`);
          router.release(d);
        },
      };
    }
  }
  const rates = await compare(cases);
  const us = (name: string): number => rates[name]!.opUs;
  writeResult('ecc-plan', {
    command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/ecc-plan.bench.ts',
    ...settings,
    usPerDecision: Object.fromEntries(Object.keys(cases).map((k) => [k, us(k)])),
    protectedVsPlain: Object.fromEntries(sizes.map((n) => [`contacts${n}`, us(`protected${n}`) / us(`plain${n}`)])),
    target: { usPerDecisionProtected: '<= 20' },
  });
  // A warm decision's check does not grow with the plan (checking it all would cost 10x here).
  expect(us('protected10000')).toBeLessThan(2 * us('protected1000'));
  expect(us('protected10000')).toBeLessThan(20);
});
