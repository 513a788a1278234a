// Per-bundle route decision inside the bundle agent (agent/routing.ts), warm route cache: the
// agent's facts from the store's metadata, CgrRouter.route with volume booking, the link table,
// and the bundle held in its contact's queue, then the decision spent as the next hop
// acknowledges it. An Iridium NEXT satellite over the 24 h plan predicted from the real elements
// (66 satellites, 3 stations), 200-byte bundles to 13 destinations. Target: <= 20 us per bundle.
// Baseline in the same run: CgrRouter.route alone. Figures to test/bench/results/agent-route.json.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { AGENT_CHANNELS } from '../../flight/dtn/agent-dictionary.js';
import type { AgentContext } from '../../flight/dtn/agent/context.js';
import { DEFAULT_AGENT_LIMITS } from '../../flight/dtn/agent/limits.js';
import { DispatchQueues } from '../../flight/dtn/agent/queues.js';
import { Routing } from '../../flight/dtn/agent/routing.js';
import type { StoredBundle } from '../../flight/dtn/store/meta.js';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { parseTle } from '../../flight/route/predict/elements.js';
import { ContactPredictor } from '../../flight/route/predict/predict.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { percentile, writeResult } from './results.js';

const TLE = new URL('../../../shared/vectors/tle/iridium-next-2022-03-09.tle', import.meta.url).pathname;
const START = Date.UTC(2022, 2, 10);
const BUNDLES = 200_000;
const BATCH = 10_000;

it('per-bundle route decision in the agent with a warm cache', () => {
  const sats = parseTle(readFileSync(TLE, 'utf8'), 'iridium').slice(0, 66);
  const stations = [
    { name: 'Svalbard', node: 1001, latDeg: 78.23, lonDeg: 15.39, altM: 500, minElevationDeg: 10 },
    { name: 'Fairbanks', node: 1002, latDeg: 64.86, lonDeg: -147.85, altM: 200, minElevationDeg: 10 },
    { name: 'Hartebeesthoek', node: 1003, latDeg: -25.89, lonDeg: 27.69, altM: 1500, minElevationDeg: 10 },
  ];
  const p = new ContactPredictor(sats, stations, { startMs: START, durationS: 86_400, stepS: 10 });
  while (!p.advance(8640));
  const plan = p.plan();
  const now = START + 3_600_000;
  const destinations = [1001, 1002, 1003, ...sats.slice(20, 30).map((s) => s.node)];
  const tlm = new TelemetryRegistry();
  const ctx = {
    node: sats[0]!.node, limits: DEFAULT_AGENT_LIMITS, ch: tlm.defineAll(AGENT_CHANNELS), log: createRootLogger({ level: 'silent' }),
    now: () => now, previousHops: new Map<string, number>(),
  } as unknown as AgentContext;
  const link = { link: { peer: { cla: 'tcp', address: '127.0.0.1', port: 1 }, send: async () => undefined }, maxBundleBytes: 1 << 20 } as const;
  const queues = new DispatchQueues(ctx.ch.pending, ctx.ch.awaitingContact);
  const meta = (i: number): StoredBundle => ({
    id: `ipn:1001.1-${i}`, source: 'ipn:1001.1', destination: `ipn:${destinations[i % destinations.length]}.1`, priority: 'normal',
    state: 'forward-pending', creationMs: now, expiryMs: now + 86_400_000, size: 200,
  });
  const metas = Array.from({ length: BATCH }, (_, i) => meta(i));

  // Each batch on a fresh router, so volume booked by earlier batches never fills a contact.
  const agentBatch = (): number => {
    const router = new CgrRouter(ctx.node, plan);
    const routing = new Routing(ctx, router, { link: () => link }, queues);
    for (const d of destinations) router.route({ destination: d, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000 }, now); // warm
    const t = performance.now();
    for (const m of metas) {
      const next = routing.next(m.id, m, destinations[Number(m.id.slice(m.id.indexOf('-') + 1)) % destinations.length]!, now);
      if (next === 'no-route') throw new Error(`no route for ${m.destination}`);
      if (next === 'held') queues.remove(m.id, m.priority); // the contact opens later: leaves the queue as it would
      routing.sent(m.id);
    }
    return ((performance.now() - t) * 1000) / BATCH;
  };
  const routerBatch = (): number => {
    const router = new CgrRouter(ctx.node, plan);
    for (const d of destinations) router.route({ destination: d, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000 }, now);
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) {
      if (!router.route({ destination: destinations[i % destinations.length]!, sizeBytes: 200, priority: 1, expiryMs: now + 86_400_000 }, now)) throw new Error('no route');
    }
    return ((performance.now() - t) * 1000) / BATCH;
  };
  const agent: number[] = [];
  const router: number[] = [];
  for (let b = 0; b < BUNDLES / BATCH; b++) {
    agent.push(agentBatch());
    router.push(routerBatch());
  }
  agent.sort((a, b) => a - b);
  router.sort((a, b) => a - b);
  const p50 = percentile(agent, 0.5);
  writeResult('agent-route', {
    command: 'npm run bench -- test/bench/agent-route.bench.ts',
    plan: { satellites: sats.length, stations: stations.length, contacts: plan.contacts.length },
    destinations: destinations.length,
    bundles: BUNDLES,
    usPerBundle: { p50, worstBatch: agent[agent.length - 1] },
    routerAloneUsPerDecision: { p50: percentile(router, 0.5) },
    agentOverRouter: p50 / percentile(router, 0.5),
    target: { usPerBundle: '<= 20' },
  });
  expect(p50).toBeLessThanOrEqual(20);
});
