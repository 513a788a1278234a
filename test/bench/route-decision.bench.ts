// Per-bundle route decision with a warm route cache, as the agent will ask it: an Iridium NEXT
// satellite routing 200-byte bundles to stations and other satellites over the 24 h plan
// predicted from the real elements (66 satellites, 3 stations). Target: <= 20 us per decision.
// The cold figure is the first decision for a destination (Yen's routes computed). The same
// decisions with the plan protected (an ecc node: flight/route/plan-guard.ts) run in the same
// batches, alternating, so machine load falls on both alike.
// Figures to test/bench/results/route-decision.json.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { protectPlan } from '../../flight/route/plan-guard.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { parseTle } from '../../flight/route/predict/elements.js';
import { ContactPredictor } from '../../flight/route/predict/predict.js';
import { percentile, writeResult } from './results.js';

const TLE = new URL('../../../shared/vectors/tle/iridium-next-2022-03-09.tle', import.meta.url).pathname;
const START = Date.UTC(2022, 2, 10);
const DECISIONS = 200_000;

it('route decision with a warm cache', () => {
  const sats = parseTle(readFileSync(TLE, 'utf8'), 'iridium').slice(0, 66);
  const stations = [
    { name: 'Svalbard', node: 1001, latDeg: 78.23, lonDeg: 15.39, altM: 500, minElevationDeg: 10 },
    { name: 'Fairbanks', node: 1002, latDeg: 64.86, lonDeg: -147.85, altM: 200, minElevationDeg: 10 },
    { name: 'Hartebeesthoek', node: 1003, latDeg: -25.89, lonDeg: 27.69, altM: 1500, minElevationDeg: 10 },
  ];
  const p = new ContactPredictor(sats, stations, { startMs: START, durationS: 86_400, stepS: 10 });
  while (!p.advance(8640));
  const plan = p.plan();
  const router = new CgrRouter(sats[0]!.node, plan);
  const guarded = new CgrRouter(sats[0]!.node, plan);
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const protection = new NodeProtection({
    core: new Core('simd'), tlm: new TelemetryRegistry(), events, dir: mkdtempSync(join(tmpdir(), 'tern-route-decision-')),
    config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store },
  });
  protectPlan(guarded, protection.region, events);
  const now = START + 3_600_000;
  const destinations = [1001, 1002, 1003, ...sats.slice(20, 30).map((s) => s.node)];
  const coldMs: number[] = [];
  for (const destination of destinations) {
    const t = performance.now();
    expect(router.route({ destination, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000 }, now)).toBeDefined();
    coldMs.push(performance.now() - t);
    expect(guarded.route({ destination, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000 }, now)).toBeDefined();
  }
  const batches: number[] = [];
  const guardedBatches: number[] = [];
  const batch = 10_000;
  const run = (r: CgrRouter): number => {
    const t = performance.now();
    for (let i = 0; i < batch; i++) {
      const destination = destinations[i % destinations.length]!;
      const d = r.route({ destination, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000, previousHop: 1001 }, now);
      if (d === undefined) throw new Error(`no route to ${destination}`);
    }
    return ((performance.now() - t) * 1000) / batch;
  };
  for (let b = 0; b < DECISIONS / batch; b++) {
    batches.push(run(router));
    guardedBatches.push(run(guarded));
  }
  batches.sort((a, b) => a - b);
  guardedBatches.sort((a, b) => a - b);
  coldMs.sort((a, b) => a - b);
  writeResult('route-decision', {
    command: 'npm run bench -- test/bench/route-decision.bench.ts',
    plan: { satellites: sats.length, stations: stations.length, contacts: plan.contacts.length },
    destinations: destinations.length,
    decisions: DECISIONS,
    usPerDecision: { p50: percentile(batches, 0.5), worstBatch: batches[batches.length - 1] },
    usPerDecisionProtected: { p50: percentile(guardedBatches, 0.5), worstBatch: guardedBatches[guardedBatches.length - 1] },
    protectedVsPlain: percentile(guardedBatches, 0.5) / percentile(batches, 0.5),
    coldMs: { p50: percentile(coldMs, 0.5), max: coldMs[coldMs.length - 1] },
    target: { usPerDecision: '<= 20' },
  });
});
