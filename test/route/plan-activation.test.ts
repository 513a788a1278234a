// A contact plan taken by command: ROUTE_PLAN_ACTIVATE names the SHA-256 of a plan file the file
// service stored in the incoming directory. Validated first; a bad plan (malformed, overlapping,
// naming neither this node), a file never uplinked and one altered since are counted and
// reported and the node keeps routing on its old plan; a good one is kept durably, routes every
// bundle again, and is the plan again after a restart. Uplinked through the real file service,
// an activated file leaves the incoming directory (the kept plan is what a restart reads).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredFile } from '../../flight/cmd/uplink.js';
import { signFile } from '../../flight/cmd/uplink-envelope.js';
import { createRootLogger } from '../../flight/log.js';
import { CgrRouter } from '../../flight/route/cgr-router.js';
import { ROUTE_COMMANDS } from '../../flight/route/dictionary.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import { PlanActivation } from '../../flight/route/plan-activation.js';
import { parsePlan, PlanIntake } from '../../flight/route/plan-load.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { dsa, envelope, harness, NODE, testOperator } from '../cmd/support/harness.js';
import { until } from '../support/wait.js';

const EPOCH = Date.UTC(2026, 0, 1);
const planText = (contacts: Array<[number, number, number, number]>): string => JSON.stringify({
  format: 'tern-contact-plan/1',
  contacts: contacts.map(([from, to, start, end]) => ({ from, to, start, end, rate: 1000, owlt: 0.01 })),
});
const OLD = planText([[1, 2, 0, 100], [2, 3, 0, 100]]);
const NEW = planText([[1, 4, 0, 100], [4, 3, 0, 100]]);
const facts = { destination: 3, sizeBytes: 10, priority: 1 as const, expiryMs: Infinity };

function node(dir = mkdtempSync(join(tmpdir(), 'tern-plan-cmd-')), id = 1) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: string[] = [];
  events.onEvent((e) => seen.push(e.name));
  const router = new CgrRouter(id, parsePlan(OLD, { source: 'config', epochMs: EPOCH }), { epochMs: EPOCH }, tlm);
  let replanned = 0;
  const plans = new PlanActivation({
    node: id, router, events, file: join(dir, 'contact-plan'), incoming: join(dir, 'incoming'),
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

/** A node with the real file service (commanding's, as flight/app.ts wires it) taking plans for `plans`. */
function withFileService(dir = mkdtempSync(join(tmpdir(), 'tern-plan-uplink-'))) {
  const n = node(dir, NODE);
  const operator = testOperator(1, ['operate', 'approve']);
  const h = harness({ operators: [operator], dataDir: dir });
  h.commanding.uplink.accept('plan', n.plans.uplinkKind());
  /** `tern gse upload --kind plan`, delivered as the agent does; settles once stored. */
  const upload = (text: string): Promise<StoredFile> => h.deliverFile(signFile(dsa, new TextEncoder().encode(text), { target: NODE, kind: 'plan', name: 'plan.json', signer: operator }));
  const incoming = (): string[] => readdirSync(join(dir, 'incoming')).sort();
  /** FILE_DELETE signed by the operator (sequence numbers above any earlier run's); its outcome. */
  const fileDelete = (sha256: string, seq: number) => h.send(envelope({ command: 'FILE_DELETE', args: [sha256], seq, signers: [operator] }, h.wall.ms)).at(-1);
  return { ...n, h, upload, incoming, fileDelete };
}

/** Plans naming node NODE (the harness's) whose first hop to node 3 is `hop`. */
const via = (hop: number): string => planText([[NODE, hop, 0, 100], [hop, 3, 0, 100]]);

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

  it('keeps no activated plan file in the incoming directory: after A, B, C only the never-activated D is left, and a restart routes by C', async () => {
    const n = withFileService();
    const [a, b, c, d] = await Promise.all([via(4), via(5), via(6), via(8)].map((text) => n.upload(text)));
    expect(n.incoming()).toEqual([a!.sha256, b!.sha256, c!.sha256, d!.sha256].sort());
    for (const file of [a!, b!, c!]) n.plans.activate(file.sha256);
    await until(() => n.h.value('cmd.uplink.removed') === 3, 'the activated plans removed');
    expect(n.incoming()).toEqual([d!.sha256]);
    expect(n.h.value('cmd.uplink.incomingBytes')).toBe(via(8).length);
    expect(n.h.events.filter((e) => e.name === 'CMD_FILE_REMOVED').map((e) => e.args.sha256).sort()).toEqual([a!.sha256, b!.sha256, c!.sha256].sort());
    expect(readFileSync(join(n.dir, 'contact-plan'), 'utf8')).toBe(via(6));
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(6);
    // A refused plan is no activation: its file stays, as a file never activated.
    const bad = await n.upload(planText([[NODE, 4, 50, 10]]));
    expect(() => n.plans.activate(bad.sha256)).toThrow(ContactPlanError);
    expect(n.incoming()).toEqual([bad.sha256, d!.sha256].sort());

    const restarted = withFileService(n.dir);
    restarted.plans.restore();
    expect(restarted.router.route(facts, EPOCH)!.nextHop).toBe(6);
    expect(restarted.h.value('cmd.uplink.incomingBytes')).toBe(via(8).length + planText([[NODE, 4, 50, 10]]).length);
    // The never-activated D is still there to activate after the restart; then it leaves too.
    restarted.plans.activate(d!.sha256);
    expect(restarted.router.route(facts, EPOCH)!.nextHop).toBe(8);
    await until(() => restarted.incoming().length === 1, 'D removed');
    expect(restarted.incoming()).toEqual([bad.sha256]);
  });

  it('FILE_DELETE: a deleted plan cannot be activated (the old plan stays); the plan in use is not deleted, also after a restart', async () => {
    const n = withFileService();
    const a = await n.upload(via(4));
    const b = await n.upload(via(5));
    n.plans.activate(a.sha256);
    expect(n.fileDelete(b.sha256, 1)).toMatchObject({ status: 'executed', result: { kind: 'plan', sha256: b.sha256 } });
    expect(() => n.plans.activate(b.sha256)).toThrow(/uplinked with tern gse upload.*ENOENT/);
    expect(n.router.route(facts, EPOCH)!.nextHop).toBe(4);
    expect(n.tlm.get('route.plansRejected')!.value).toBe(1);
    // The plan in use, uploaded again: its copy in incoming is not FILE_DELETE's to remove.
    await until(() => n.incoming().length === 0, 'A removed once activated, B deleted');
    await n.upload(via(4));
    expect(n.fileDelete(a.sha256, 2)).toMatchObject({ status: 'failed', reason: 'UPLINK_DELETE_ACTIVE' });
    const restarted = withFileService(n.dir);
    restarted.plans.restore();
    expect(restarted.fileDelete(a.sha256, 3)).toMatchObject({ status: 'failed', reason: 'UPLINK_DELETE_ACTIVE' });
    expect(restarted.incoming()).toEqual([a.sha256]);
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
