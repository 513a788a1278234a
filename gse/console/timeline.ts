// The console's Contacts page: the mission's contact plan on the nodes' clock (the same mapping
// a node's CgrRouter uses: plan time t is epochMs + 1000 t / timeScale), which contacts are open
// now, and where bundles wait, from what the nodes tell the ground: each node's housekeeping
// (stored bundles, bundles pending, in contact queues, in flight, contacts open) and the
// ROUTE_CONTACT_STARTED events (how many bundles were queued for that neighbour when it opened).
// Housekeeping carries no per-contact queue counts; the page says so rather than invent them.
import { RouteArgumentError } from '../../flight/route/errors.js';
import { MISSION_EPOCH_ENV } from '../../flight/route/config.js';
import type { ContactPlan } from '../../flight/route/plan.js';
import { readPlanFile } from '../../flight/route/plan-load.js';
import { nodeList, openAt, planNames, timelineRows, timelineSvg } from '../route-timeline.js';
import type { Archive } from './archive.js';
import type { NodeView } from './live.js';

export interface ContactsOptions {
  /** The plan file (ION, HDTN or Tern). */
  readonly file: string;
  /** `--plan-epoch`: ISO UTC, Unix ms, or "mission-start"; absent: see `planEpochMs`. */
  readonly epoch?: string;
  /** `--time-scale`: plan seconds per second, as the nodes' contactPlan.timeScale. */
  readonly timeScale?: string;
  /** The console's ground node: it and the plan's nodes in contact with it are ground (stations). */
  readonly consoleNode: number;
  /** `--ground`: more ground nodes (stations a plan without the console names), "N,N". */
  readonly ground?: string;
}

/** The housekeeping channels that say where a node's bundles wait, in the page's column order. */
export const WAITING_CHANNELS = [
  ['dtn.store.bundles', 'stored'],
  ['dtn.agent.pending', 'pending'],
  ['dtn.agent.awaitingContact', 'in contact queues'],
  ['dtn.agent.inFlight', 'in flight'],
  ['route.contactsOpen', 'contacts open'],
] as const;

/**
 * Plan time 0 on the nodes' clock: --plan-epoch; else the launcher's mission start (`tern
 * mission` gives every process it starts, this console too, the same TERN_MISSION_EPOCH_MS its
 * nodes' "epoch": "mission-start" reads); else the plan's own epoch; else `startMs`.
 */
export function planEpochMs(plan: ContactPlan, epoch: string | undefined, env: NodeJS.ProcessEnv, startMs: number): number {
  if (epoch === undefined) return env[MISSION_EPOCH_ENV] !== undefined ? planEpochMs(plan, 'mission-start', env, startMs) : plan.epochMs ?? startMs;
  if (epoch === 'mission-start') {
    const raw = env[MISSION_EPOCH_ENV];
    if (raw === undefined || !/^\d+$/.test(raw)) throw new RouteArgumentError('plan-epoch', `"mission-start" with ${MISSION_EPOCH_ENV} set (tern mission sets it)`, raw ?? 'unset');
    return Number(raw);
  }
  if (/^\d+$/.test(epoch)) return Number(epoch);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(epoch) ? Date.parse(epoch) : NaN;
  if (Number.isNaN(ms)) throw new RouteArgumentError('plan-epoch', 'an ISO UTC time, Unix ms or "mission-start"', epoch);
  return ms;
}

export class ContactsView {
  private constructor(
    readonly file: string,
    readonly plan: ContactPlan,
    readonly epochMs: number,
    readonly timeScale: number,
    readonly ground: ReadonlySet<number>,
    private readonly names: ReadonlyMap<number, string>,
  ) {}

  /** A bad plan throws the loader's ContactPlanError; a bad epoch or scale a RouteArgumentError. */
  static load(o: ContactsOptions, env: NodeJS.ProcessEnv = process.env, startMs = Date.now()): ContactsView {
    const plan = readPlanFile(o.file);
    const timeScale = o.timeScale === undefined ? 1 : Number(o.timeScale);
    if (!(Number.isInteger(timeScale) && timeScale >= 1 && timeScale <= 100_000)) throw new RouteArgumentError('time-scale', 'a whole number of plan seconds per second, 1 to 100000', o.timeScale);
    // Stations are the nodes the plan connects to the console; the console itself is ground too.
    const ground = new Set([o.consoleNode, ...(nodeList('ground', o.ground) ?? [])]);
    for (const c of plan.contacts) {
      if (c.from === o.consoleNode) ground.add(c.to);
      if (c.to === o.consoleNode) ground.add(c.from);
    }
    return new ContactsView(o.file, plan, planEpochMs(plan, o.epoch, env, startMs), timeScale, ground, planNames(o.file));
  }

  /** Plan seconds at Unix ms `nowMs`, as the nodes reckon it. */
  planTime(nowMs: number): number {
    return ((nowMs - this.epochMs) * this.timeScale) / 1000;
  }

  /** Unix ms at plan time `t`. */
  wallTime(t: number): number {
    return this.epochMs + (1000 * t) / this.timeScale;
  }

  /** The chart around now: `beforeS` of plan time before it and `spanS` in all, inside the plan. */
  svg(nowMs: number, spanS: number, width: number): string {
    const now = this.planTime(nowMs);
    const first = Math.min(...this.plan.contacts.map((c) => c.start));
    const last = Math.max(...this.plan.contacts.map((c) => c.end));
    const fromS = Math.max(first, Math.min(now - spanS / 6, last - spanS));
    return timelineSvg(this.plan, { fromS, toS: Math.min(last, fromS + spanS), nowS: now, ground: this.ground, names: this.names, width,
      clock: { epochMs: this.epochMs, timeScale: this.timeScale } });
  }

  /** What the page shows beside the chart. */
  state(nowMs: number, nodes: readonly NodeView[], archive: Archive): unknown {
    const now = this.planTime(nowMs);
    const contact = (c: ContactPlan['contacts'][number]) => ({
      from: c.from, to: c.to, start: c.start, end: c.end, rate: c.rate,
      opensMs: Math.round(this.wallTime(c.start)), closesMs: Math.round(this.wallTime(c.end)),
    });
    const open = this.plan.contacts.filter((c) => openAt(c, now)).map(contact);
    const next = this.plan.contacts.filter((c) => c.start > now).sort((a, b) => a.start - b.start || a.from - b.from || a.to - b.to).slice(0, 10).map(contact);
    // The last contact each node opened, with the bundles queued for it then (its own event).
    const started = archive.events({ fromMs: nowMs - 86_400_000, toMs: nowMs }, { text: 'ROUTE_CONTACT_STARTED' }, 2000);
    const lastStarted = new Map<number, { tMs: number; neighbour: unknown; waiting: unknown }>();
    for (const e of started) if (e.name === 'ROUTE_CONTACT_STARTED') lastStarted.set(e.node, { tMs: e.tMs, neighbour: e.args.neighbour, waiting: e.args.waiting });
    const planNodes = new Set(this.plan.nodes);
    const waiting = nodes.map((v) => ({
      node: v.node, inPlan: planNodes.has(v.node), lastContactMs: v.lastContactMs,
      counts: Object.fromEntries(WAITING_CHANNELS.map(([channel]) => [channel, v.channels[channel] ?? null])),
      lastContactStarted: lastStarted.get(v.node) ?? null,
    }));
    return {
      file: this.file, epochMs: this.epochMs, timeScale: this.timeScale, planNowS: now,
      contacts: this.plan.contacts.length, pairs: timelineRows(this.plan).length, ground: [...this.ground].sort((a, b) => a - b),
      open, next, waiting, channels: WAITING_CHANNELS.map(([channel, label]) => ({ channel, label })),
    };
  }
}
