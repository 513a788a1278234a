// The bundle agent forwarding by Contact Graph Routing: a real store on disk, a CgrRouter over a
// small Tern plan, the link to node 2 the test controls, and the node's clock in the test's
// hands (plan time 0 = T0), so every send is judged against the plan's windows on plan time.
import { afterEach, describe, expect, it } from 'vitest';
import { hopCountBlock, qualityOfServiceBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, dtnNow, type Priority } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { parsePlan } from '../../flight/route/plan-load.js';
import type { ContactPlan } from '../../flight/route/plan.js';
import { until } from '../support/wait.js';
import { FROM, closeStores, setup, type Setup } from './agent-harness.js';

afterEach(closeStores);

const T0 = Date.UTC(2026, 0, 1);
type C = [from: number, to: number, start: number, end: number];

/** A Tern plan from node 1's point of view: rates large enough that volume never binds here. */
function plan(contacts: C[]): ContactPlan {
  return parsePlan(JSON.stringify({
    format: 'tern-contact-plan/1', epoch: new Date(T0).toISOString(),
    contacts: contacts.map(([from, to, start, end]) => ({ from, to, start, end, rate: 100_000, owlt: 0.01 })),
  }), { source: 'test-plan' });
}

interface Cgr extends Setup {
  router: CgrRouter;
  /** The node's clock: plan seconds now (set to move it). */
  clock: { t: number };
  /** The plan time of each send on the link to node 2, in order. */
  sendTimes: number[];
  /** Runs dispatch slots until nothing more is started (a contact's queue drained). */
  settle(): Promise<void>;
}

async function cgr(contacts: C[], limits: Record<string, number> = {}): Promise<Cgr> {
  const state = { t: 0 };
  const now = (): number => T0 + state.t * 1000;
  const router = new CgrRouter(1, plan(contacts), {});
  const s = await setup({ router, now, limits: { limboMs: 1_000_000, ...limits } });
  const sendTimes: number[] = [];
  const send = s.link.send.bind(s.link);
  s.link.send = async (bytes) => {
    await send(bytes);
    sendTimes.push(state.t);
  };
  return Object.assign(s, {
    router, sendTimes, clock: state,
    settle: async () => {
      for (let i = 0; i < 4; i++) await s.dispatch();
    },
  });
}

function toNode3(seq: number, options: { priority?: Priority; lifetimeMs?: number; flags?: number } = {}): Uint8Array {
  return createBundle({
    destination: ipn(3, 1), source: ipn(5, 1), creationTime: dtnNow(T0), sequence: seq,
    lifetime: options.lifetimeMs ?? 3_600_000, flags: options.flags ?? 0,
    blocks: [hopCountBlock({ limit: 8, count: 0 }), qualityOfServiceBlock({ priority: options.priority ?? 1 })], payload: new TextEncoder().encode(`bundle ${seq}`),
  }).bytes;
}

describe('bundle agent with Contact Graph Routing', () => {
  it("holds a bundle in its contact's queue until the contact opens, and sends it only inside it", async () => {
    const s = await cgr([[1, 2, 10, 20], [2, 3, 0, 100]]);
    await s.agent.accept(toNode3(0), FROM);
    await s.settle();
    expect(s.link.sent).toEqual([]);
    expect(s.value('dtn.agent.awaitingContact')).toBe(1);
    expect(s.agent.contactQueues()).toEqual([{ nextHop: 2, window: { openMs: T0 + 10_000, closeMs: T0 + 20_000 }, bundles: 1 }]);
    s.clock.t = 9.99;
    await s.settle();
    expect(s.link.sent).toEqual([]);
    expect(s.events).not.toContain('ROUTE_CONTACT_STARTED');
    s.clock.t = 10;
    await s.settle();
    expect(s.sendTimes).toEqual([10]);
    expect(s.store.list()).toEqual([]); // acknowledged by the next hop
    expect(s.value('dtn.agent.awaitingContact')).toBe(0);
    // What a person watching sees: the contact starting (with one bundle queued for it) and ending.
    expect(s.events).toContain('ROUTE_CONTACT_STARTED');
    s.clock.t = 20;
    await s.settle();
    expect(s.events.filter((e) => e.startsWith('ROUTE_CONTACT'))).toEqual(['ROUTE_CONTACT_STARTED', 'ROUTE_CONTACT_ENDED']);
  });

  it('waits for a session inside an open contact, and routes again when the contact closes with bundles queued', async () => {
    const s = await cgr([[1, 2, 10, 20], [1, 2, 30, 40], [2, 3, 0, 100]]);
    s.link.up = false; // the contact opens, but no convergence-layer session comes up in it
    for (let i = 0; i < 3; i++) await s.agent.accept(toNode3(i), FROM);
    s.clock.t = 15;
    await s.settle();
    expect(s.link.sent).toEqual([]);
    s.clock.t = 20; // closed with three bundles queued: each routed again, onto 30-40
    await s.settle();
    expect(s.value('dtn.agent.rerouted')).toBe(3);
    expect(s.agent.contactQueues()).toEqual([{ nextHop: 2, window: { openMs: T0 + 30_000, closeMs: T0 + 40_000 }, bundles: 3 }]);
    s.link.up = true;
    s.clock.t = 30;
    await s.settle();
    expect(s.sendTimes).toEqual([30, 30, 30]);
    expect(s.store.list()).toEqual([]);
  });

  it('loses nothing when a contact closes mid-transfer: failed sends are routed again onto the next contact', async () => {
    const s = await cgr([[1, 2, 10, 20], [1, 2, 30, 40], [2, 3, 0, 100]]);
    for (let i = 0; i < 2; i++) await s.agent.accept(toNode3(i), FROM);
    s.clock.t = 19;
    s.link.fail = true; // the session drops as the contact ends
    await s.settle();
    expect(s.value('dtn.agent.forwardFailures')).toBeGreaterThanOrEqual(2);
    s.link.fail = false;
    s.clock.t = 20;
    await s.settle();
    expect(s.link.sent).toEqual([]); // not after the window closed
    expect(s.store.list()).toHaveLength(2);
    s.clock.t = 30;
    await s.settle();
    expect(s.sendTimes).toEqual([30, 30]);
    expect(s.store.list()).toEqual([]);
  });

  it('sends a contact\'s queue in priority order: expedited, normal, bulk', async () => {
    // One send at a time, so the order they start in is the order they reach the link.
    const s = await cgr([[1, 2, 10, 20], [2, 3, 0, 100]], { inFlight: 1 });
    await s.agent.accept(toNode3(0, { priority: 0 }), FROM);
    await s.agent.accept(toNode3(1, { priority: 1 }), FROM);
    await s.agent.accept(toNode3(2, { priority: 2 }), FROM);
    await s.settle();
    s.clock.t = 10;
    await s.settle();
    expect(s.link.sent.map((b) => decodeBundle(b).primary.sequence)).toEqual([2, 1, 0]);
  });

  it('keeps a bundle with no route in limbo until the plan changes, then routes it', async () => {
    const s = await cgr([[1, 2, 10, 20]]); // nothing reaches node 3
    await s.agent.accept(toNode3(0), FROM);
    await s.settle();
    expect(s.value('dtn.agent.noRoute')).toBe(1);
    expect(s.store.list()).toHaveLength(1);
    s.router.setPlan(plan([[1, 2, 30, 40], [2, 3, 0, 100]]));
    s.agent.replanned();
    await s.settle();
    expect(s.value('dtn.agent.awaitingContact')).toBe(1);
    s.clock.t = 30;
    await s.settle();
    expect(s.sendTimes).toEqual([30]);
  });

  it('routes again every held bundle when the plan changes, onto the new plan\'s contacts', async () => {
    const s = await cgr([[1, 2, 50, 60], [2, 3, 0, 100]]);
    await s.agent.accept(toNode3(0), FROM);
    await s.settle();
    s.router.setPlan(plan([[1, 2, 5, 8], [2, 3, 0, 100]]));
    s.agent.replanned();
    s.clock.t = 5;
    await s.settle();
    expect(s.sendTimes).toEqual([5]);
  });

  it('deletes a bundle that expired in limbo, with the status report it asked for', async () => {
    const s = await cgr([[1, 2, 10, 20]], { limboMs: 1000 });
    await s.agent.accept(toNode3(0, { lifetimeMs: 5000, flags: BundleFlag.reportDeletion }), FROM);
    await s.settle();
    s.clock.t = 6;
    await s.settle();
    expect(s.value('dtn.agent.expired')).toBe(1);
    await until(() => s.store.list().some((b) => b.source === 'ipn:1.0'), 'the status report to be stored');
    const report = s.store.list().find((b) => b.source === 'ipn:1.0')!;
    expect(Object.keys(decodeStatusReport(decodeBundle((await s.store.get(report.id))!)).asserted)).toEqual(['deleted']);
  });

  it('does not send a bundle back to the node it came from', async () => {
    // 1 -> 2 -> 3 is the earliest, but the bundle came from 2: it takes 1 -> 4 -> 3.
    const s = await cgr([[1, 2, 0, 100], [2, 3, 0, 100], [1, 4, 50, 60], [4, 3, 0, 100]]);
    const fromTwo = { ...FROM, nodeId: 'ipn:2.0' };
    await s.agent.accept(toNode3(0), fromTwo);
    await s.settle();
    expect(s.link.sent).toEqual([]);
    expect(s.agent.contactQueues()).toEqual([{ nextHop: 4, window: { openMs: T0 + 50_000, closeMs: T0 + 60_000 }, bundles: 1 }]);
  });

  it('computes at most routeListsPerSlot cold route lists in one dispatch slot', async () => {
    const s = await cgr([[1, 2, 10, 20], [2, 3, 0, 100], [2, 6, 0, 100], [2, 7, 0, 100]]);
    for (const [i, d] of [3, 6, 7].entries()) {
      await s.agent.accept(createBundle({
        destination: ipn(d, 1), source: ipn(5, 1), creationTime: dtnNow(T0), sequence: i, lifetime: 3_600_000, payload: Uint8Array.of(i),
      }).bytes, FROM);
    }
    await s.dispatch();
    expect(s.router.computations).toBe(1);
    await s.dispatch();
    expect(s.router.computations).toBe(2);
    await s.dispatch();
    expect(s.router.computations).toBe(3);
    expect(s.value('dtn.agent.awaitingContact')).toBe(3);
  });
});
