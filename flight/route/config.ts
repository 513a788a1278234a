// How a mission config names its router: the `routes` table alone (static forwarding), or a
// `contactPlan` (Contact Graph Routing), with `routes` then serving only the nodes the plan does
// not name (a ground console behind its station):
//
//   "contactPlan": { "file": "plan.json", "epoch": "mission-start", "timeScale": 60 }
//
// `file` (relative to the config file) is a plan in any format (plan-load.ts). `epoch` is plan
// time 0 on the node's clock: an ISO UTC time, or "mission-start" (the TERN_MISSION_EPOCH_MS the
// launcher gives every node of a mission, so all share one origin); absent, the plan's own epoch.
// `timeScale` plays the plan faster than real time: plan seconds per second (default 1).
import { dirname, resolve } from 'node:path';
import { Fields, join } from '../config/fields.js';
import { CgrRouter } from './cgr-router.js';
import { readPlanFile } from './plan-load.js';
import { parseStaticRoutes, type Router } from './router.js';

/** The launcher's common time origin for every node of a local mission, Unix ms. */
export const MISSION_EPOCH_ENV = 'TERN_MISSION_EPOCH_MS';

export interface ContactPlanSettings {
  /** The plan file in use (absolute). */
  readonly file: string;
  readonly epochMs: number | undefined;
  readonly timeScale: number;
}

/** The node's router from its `routes` and `contactPlan` sections; a bad plan is a ContactPlanError naming its line. */
export function parseRouting(
  f: Fields,
  node: number,
  routes: unknown,
  contactPlan: unknown,
  env: NodeJS.ProcessEnv = process.env,
): { router: Router; plan?: ContactPlanSettings } {
  const table = parseStaticRoutes(f, routes, 'routes');
  if (contactPlan === undefined) return { router: table };
  const o = f.object(contactPlan, 'contactPlan', ['file', 'epoch', 'timeScale']);
  const file = resolve(dirname(f.file), f.string(o.file, join('contactPlan', 'file')));
  const timeScale = o.timeScale === undefined ? 1 : f.integer(o.timeScale, join('contactPlan', 'timeScale'), 1, 100_000);
  let epochMs: number | undefined;
  if (o.epoch === 'mission-start') {
    const raw = env[MISSION_EPOCH_ENV];
    epochMs = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
    if (epochMs === undefined) f.fail(join('contactPlan', 'epoch'), `"mission-start" with ${MISSION_EPOCH_ENV} set to Unix ms by the launcher (tern mission)`, raw ?? 'unset');
  } else if (o.epoch !== undefined) {
    const text = f.string(o.epoch, join('contactPlan', 'epoch'));
    epochMs = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(epochMs)) f.fail(join('contactPlan', 'epoch'), 'an ISO 8601 UTC time or "mission-start"', text);
  }
  const plan = readPlanFile(file, epochMs === undefined ? {} : { epochMs });
  const router = new CgrRouter(node, plan, {
    ...(epochMs === undefined ? {} : { epochMs }), timeScale, fallback: table,
  });
  return { router, plan: { file, epochMs, timeScale } };
}
