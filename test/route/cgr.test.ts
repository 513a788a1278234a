import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contactGraphArrivals, searchContacts } from '../../flight/route/cgr.js';
import { ContactGraph } from '../../flight/route/graph.js';
import { buildPlan, type ContactDraft } from '../../flight/route/plan.js';
import { readPlanFile } from '../../flight/route/plan-load.js';
import { arrivalsByNode, earliestArrivals } from '../../flight/route/tree.js';
import { RouteList } from '../../flight/route/yen.js';

const VECTORS = new URL('../../../shared/vectors/cgr/', import.meta.url).pathname;

function routesOf(g: ContactGraph, from: number, to: number, at: number, k: number) {
  const list = new RouteList(g, g.indexOf(from), g.indexOf(to), at, k);
  const out = [];
  for (let i = 0; list.get(i); i++) out.push(list.get(i)!);
  return out;
}

describe('CGR tutorial plan (Fraire, De Jonckere, Burleigh 2021)', () => {
  const g = new ContactGraph(readPlanFile(`${VECTORS}cgr-tutorial.ion.txt`));
  const path = (r: { contacts: readonly number[] }) => [1, ...r.contacts.map((c) => g.plan.contacts[c]!.to)];

  it('best route: delivery at 3 via 1 -> 3 -> 4 -> 5', () => {
    const visited = new Uint8Array(g.nodes.length);
    visited[g.indexOf(1)] = 1;
    const best = searchContacts(g, { node: g.indexOf(1), time: 0, root: [], visited }, g.indexOf(5))!;
    expect(best.arrival).toBe(3);
    expect(best.hops).toBe(3);
    expect(path(best)).toEqual([1, 3, 4, 5]);
  });

  it("Yen's routes in order: 3, 4, 11, 31, 31, 51, 51, first next hops 3, 2, 5", () => {
    const routes = routesOf(g, 1, 5, 0, 20);
    expect(routes.map((r) => r.arrival)).toEqual([3, 4, 11, 31, 31, 51, 51]);
    expect(routes.slice(0, 3).map((r) => r.nextHop)).toEqual([3, 2, 5]);
    // Ties at 31 and 51: the 3-hop route before the 4-hop one.
    expect(routes.map((r) => r.hops)).toEqual([3, 4, 1, 3, 4, 3, 4]);
    for (const r of routes) expect(new Set(path(r)).size).toBe(path(r).length); // no loops
  });

  it('stops at maxRoutes, and starting later drops routes whose contacts have ended', () => {
    expect(routesOf(g, 1, 5, 0, 3).map((r) => r.arrival)).toEqual([3, 4, 11]);
    expect(routesOf(g, 1, 5, 25, 20).map((r) => r.arrival)).toEqual([31, 31, 51, 51]);
    expect(routesOf(g, 1, 5, 35, 20)).toEqual([]); // 3 -> 4 closed at 30, 1 -> 5 at 20
  });
});

describe('HDTN 10-node plan', () => {
  const g = new ContactGraph(readPlanFile(`${VECTORS}hdtn-10nodes.json`));
  const expected = JSON.parse(readFileSync(`${VECTORS}hdtn-10nodes.expected.json`, 'utf8')) as { earliest_arrival: Record<string, number> };

  it('earliest arrival from node 20 at time 0 equals the expected tree, by both searches', () => {
    const source = g.indexOf(20);
    expect(arrivalsByNode(g, earliestArrivals(g, source, 0), source)).toEqual(expected.earliest_arrival);
    expect(arrivalsByNode(g, contactGraphArrivals(g, source, 0), source)).toEqual(expected.earliest_arrival);
  });

  it('routes 20 -> 40 arrive when the tree says', () => {
    const [best] = routesOf(g, 20, 40, 0, 1);
    expect(best!.arrival).toBe(expected.earliest_arrival['40']);
  });
});

describe("SABR's tie-breaks", () => {
  const plan = (contacts: Array<[number, number, number, number, number]>) =>
    new ContactGraph(buildPlan(contacts.map(([from, to, start, end, owlt], i) => ({ where: `c${i}`, from, to, start, end, rate: 1000, owlt })), [], { source: 't' }));
  const best = (g: ContactGraph) => new RouteList(g, g.indexOf(1), g.indexOf(5), 0, 1).get(0)!;

  it('equal arrival: fewer hops, even when the longer route reaches the last contact first', () => {
    // 1 -> 2 -> 3 reaches 3 at 2, 1 -> 3 at 5; both then wait for 3 -> 5 at 50.
    const g = plan([[1, 2, 0, 100, 1], [2, 3, 0, 100, 1], [1, 3, 0, 100, 5], [3, 5, 50, 60, 1]]);
    expect([best(g).arrival, best(g).hops, best(g).nextHop]).toEqual([51, 2, 3]);
  });

  it('equal arrival and hops: the later-ending first contact, then the smaller entry node', () => {
    expect(best(plan([[1, 2, 0, 10, 1], [1, 3, 0, 20, 1], [2, 5, 50, 60, 1], [3, 5, 50, 60, 1]])).nextHop).toBe(3);
    expect(best(plan([[1, 3, 0, 20, 1], [1, 2, 0, 20, 1], [3, 5, 50, 60, 1], [2, 5, 50, 60, 1]])).nextHop).toBe(2);
  });
});

/** A deterministic pseudo-random plan: `nodes` nodes, `count` contacts over a day (a pair's contacts may overlap, as HDTN allows, with `overlap`). */
function randomPlan(seed: number, nodes: number, count: number, overlap = false) {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const drafts: ContactDraft[] = [];
  const busy = new Map<string, Array<[number, number]>>();
  for (let i = 0; drafts.length < count && i < count * 20; i++) {
    const from = 1 + Math.floor(rand() * nodes);
    const to = 1 + Math.floor(rand() * nodes);
    if (from === to) continue;
    const start = Math.floor(rand() * 1000);
    const end = start + 1 + Math.floor(rand() * 100);
    const key = `${from}>${to}`;
    const taken = busy.get(key) ?? [];
    if (taken.some(([a, b]) => (overlap ? a === start : start < b && a < end))) continue;
    taken.push([start, end]);
    busy.set(key, taken);
    drafts.push({ where: `c${i}`, from, to, start, end, rate: 1000, owlt: Math.floor(rand() * 5) });
  }
  return buildPlan(drafts, [], { source: `random-${seed}`, allowOverlap: overlap });
}

describe('node-labelled search against contact-graph Dijkstra', () => {
  it('agree on 200 random plans from every source and start time', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Half of them with overlapping contacts in a pair (HDTN plans), where a long contact can outlast later short ones.
      const g = new ContactGraph(randomPlan(seed, 3 + (seed % 10), 5 + (seed * 7) % 120, seed % 2 === 0));
      for (let source = 0; source < g.nodes.length; source++) {
        const at = (seed * 37) % 500;
        expect(Array.from(earliestArrivals(g, source, at)).map((t, i) => (i === source ? 'source' : t)))
          .toEqual(Array.from(contactGraphArrivals(g, source, at)).map((t, i) => (i === source ? 'source' : t)));
      }
    }
  });

  it('the best route to each node arrives at the tree arrival', () => {
    for (let seed = 300; seed < 340; seed++) {
      const g = new ContactGraph(randomPlan(seed, 8, 80));
      const tree = earliestArrivals(g, 0, 100);
      for (let v = 1; v < g.nodes.length; v++) {
        const best = new RouteList(g, 0, v, 100, 1).get(0);
        expect(best?.arrival ?? Infinity).toBe(tree[v]);
      }
    }
  });
});
