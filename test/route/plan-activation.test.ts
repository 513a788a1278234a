// A contact plan taken by command: ROUTE_PLAN_ACTIVATE names the SHA-256 of a plan file the file
// service stored in the incoming directory. Validated first; a bad plan (malformed, overlapping,
// naming neither this node), a file never uplinked and one altered since are counted and
// reported and the node keeps routing on its old plan; a good one is kept durably, routes every
// bundle again, and is the plan again after a restart.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { ROUTE_COMMANDS } from '../../flight/route/dictionary.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import { PlanActivation } from '../../flight/route/plan-activation.js';
import { parsePlan, PlanIntake } from '../../flight/route/plan-load.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';

const EPOCH = Date.UTC(2026, 0, 1);
const planText = (contacts: Array<[number, number, number, number]>): string => JSON.stringify({
  format: 'tern-contact-plan/1',
  contacts: contacts.map(([from, to, start, end]) => ({ from, to, start, end, rate: 1000, owlt: 0.01 })),
});
const OLD = planText([[1, 2, 0, 100], [2, 3, 0, 100]]);
const NEW = planText([[1, 4, 0, 100], [4, 3, 0, 100]]);
const facts = { destination: 3, sizeBytes: 10, priority: 1 as const, expiryMs: Infinity };

function node(dir = mkdtempSync(join(tmpdir(), 'tern-plan-cmd-'))) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: string[] = [];
  events.onEvent((e) => seen.push(e.name));
  const router = new CgrRouter(1, parsePlan(OLD, { source: 'config', epochMs: EPOCH }), { epochMs: EPOCH }, tlm);
  let replanned = 0;
  const plans = new PlanActivation({
    node: 1, router, events, file: join(dir, 'contact-plan'), incoming: join(dir, 'incoming'),
    intake: new PlanIntake(router.ch!, events, { epochMs: EPOCH }), replanned: () => replanned++,
  });
  /** What the file service does with an uplinked plan: stored as <sha256> in the incoming directory. */
  const uplinked = (bytes: Uint8Array): string => {
    const sha = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'incoming', sha), bytes);
    return sha;
  };
  return { dir, tlm, router, plans, seen, uplinked, replanned: () => replanned };
}

describe('contact plan by command', () => {
  it('ROUTE_PLAN_ACTIVATE is critical: k of n operators approve a new plan by its digest', () => {
    expect(ROUTE_COMMANDS.planActivate.criticality).toBe('critical');
    expect(ROUTE_COMMANDS.planActivate.args.map((a) => a.name)).toEqual(['sha256']);
  });

  it('takes a good plan: routes by it, routes every bundle again, keeps it for a restart', () => {
    const n = node();
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(2);
    const sha = n.uplinked(new TextEncoder().encode(NEW));
    expect(n.plans.activate(sha)).toEqual({ sha256: sha, contacts: 2, nodes: 3 });
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(4);
    expect(n.replanned()).toBe(1);
    expect(n.seen).toEqual(['ROUTE_PLAN_LOADED', 'ROUTE_PLAN_ACTIVATED']);
    expect(readFileSync(join(n.dir, 'contact-plan'), 'utf8')).toBe(NEW);
    const restarted = node(n.dir);
    restarted.plans.restore();
    expect(restarted.router.route(facts, EPOCH)!.nextHop).toBe(4);
  });

  it.each([
    ['malformed JSON', '{"format": "tern-contact-plan/1", "contacts": [', 'valid JSON'],
    ['an end before its start', planText([[1, 4, 50, 10]]), 'contacts[0] end'],
    ['overlapping contacts of a pair', planText([[1, 4, 0, 100], [1, 4, 50, 150]]), 'overlap'],
    ['a plan without this node', planText([[7, 8, 0, 100]]), 'a plan that names this node (1)'],
    ['bytes that are not UTF-8', '\u0000', 'UTF-8'],
  ])('refuses %s, counted and reported, and keeps routing on the old plan', (_what, text, message) => {
    const n = node();
    const sha = n.uplinked(text === '\u0000' ? Uint8Array.of(0xff, 0xfe, 0x7b) : new TextEncoder().encode(text));
    expect(() => n.plans.activate(sha)).toThrow(ContactPlanError);
    expect(() => n.plans.activate(sha)).toThrow(message);
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(2);
    expect(n.tlm.get('route.plansRejected')!.value).toBe(2);
    expect(n.seen).toEqual(['ROUTE_PLAN_REJECTED', 'ROUTE_PLAN_REJECTED']);
    expect(n.replanned()).toBe(0);
    expect(existsSync(join(n.dir, 'contact-plan'))).toBe(false);
  });

  it.each([
    ['a digest never uplinked', (n: ReturnType<typeof node>) => createHash('sha256').update('nothing').digest('hex'), 'uplinked with tern gse upload'],
    ['a stored file altered since it was uplinked', (n: ReturnType<typeof node>) => {
      const sha = n.uplinked(new TextEncoder().encode(NEW));
      writeFileSync(join(n.dir, 'incoming', sha), NEW.replace('1000', '2000'));
      return sha;
    }, 'the approved digest'],
    ['a sha256 that is no digest', () => '../contact-plan', '64 lowercase hex digits'],
  ])('refuses %s, counted and reported, and keeps routing on the old plan', (_what, sha256, message) => {
    const n = node();
    const sha = sha256(n);
    expect(() => n.plans.activate(sha)).toThrow(message);
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(2);
    expect(n.tlm.get('route.plansRejected')!.value).toBe(1);
    expect(n.seen).toEqual(['ROUTE_PLAN_REJECTED']);
    expect(existsSync(join(n.dir, 'contact-plan'))).toBe(false);
  });
});
