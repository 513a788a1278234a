// Earliest-arrival tree from one node over a 24 h plan of more than 100,000 contacts (a Walker
// 360/18/1 constellation at 550 km and 60 ground stations, predicted at a 60 s step), by the
// single-pass node-labelled search and by contact-graph Dijkstra (contacts as vertices, as ION's
// CGR builds it) on the same plan. Targets: tree <= 20 ms and >= 100x faster.
// Figures to test/bench/results/route-tree.json.
import { expect, it } from 'vitest';
import { contactGraphArrivals } from '../../flight/route/cgr.js';
import { ContactGraph } from '../../flight/route/graph.js';
import { parseTle } from '../../flight/route/predict/elements.js';
import { ContactPredictor } from '../../flight/route/predict/predict.js';
import type { GroundStation } from '../../flight/route/predict/stations.js';
import { parseWalkerShape, walkerTle } from '../../flight/route/predict/walker.js';
import { earliestArrivals } from '../../flight/route/tree.js';
import { percentile, writeResult } from './results.js';

const START = Date.UTC(2026, 0, 1);

/** The Walker 360/18/1 plan with a grid of stations: exported for the decision benchmark. */
export function walkerPlan() {
  const sats = parseTle(walkerTle({ ...parseWalkerShape('360/18/1'), altKm: 550, incDeg: 53, epochMs: START }), 'walker');
  const stations: GroundStation[] = [];
  for (let lat = -50; lat <= 60; lat += 22) {
    for (let lon = -180; lon < 180; lon += 36) stations.push({ name: `gs${stations.length + 1}`, node: stations.length + 1, latDeg: lat, lonDeg: lon, altM: 0, minElevationDeg: 10 });
  }
  const p = new ContactPredictor(sats, stations, { startMs: START, durationS: 86_400, stepS: 60, maxRangeKm: 3000 });
  while (!p.advance(1440));
  return p.plan();
}

it('earliest-arrival tree vs contact-graph Dijkstra on a 24 h Walker plan', () => {
  const plan = walkerPlan();
  expect(plan.contacts.length).toBeGreaterThanOrEqual(100_000);
  const g = new ContactGraph(plan);
  const source = g.indexOf(1); // a ground station
  const treeMs: number[] = [];
  let tree = earliestArrivals(g, source, 0);
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    tree = earliestArrivals(g, source, 0);
    treeMs.push(performance.now() - t);
  }
  const dijkstraMs: number[] = [];
  let reference: Float64Array = new Float64Array(0);
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    reference = contactGraphArrivals(g, source, 0);
    dijkstraMs.push(performance.now() - t);
  }
  // Both searches give the same arrival at every node.
  tree.forEach((t, v) => v !== source && expect(t).toBe(reference[v]));
  treeMs.sort((a, b) => a - b);
  dijkstraMs.sort((a, b) => a - b);
  const treeP50 = percentile(treeMs, 0.5);
  const dijkstraP50 = percentile(dijkstraMs, 0.5);
  writeResult('route-tree', {
    command: 'npm run bench -- test/bench/route-tree.bench.ts',
    plan: { satellites: 360, stations: 60, hours: 24, contacts: plan.contacts.length, nodes: plan.nodes.length },
    reachable: tree.filter((t) => t !== Infinity).length - 1,
    ms: { treeP50, treeP90: percentile(treeMs, 0.9), contactGraphDijkstraP50: dijkstraP50 },
    ratio: { dijkstraVsTree: dijkstraP50 / treeP50 },
    target: { treeMs: '<= 20', dijkstraVsTree: '>= 100' },
  });
});
