// `tern route`: contact plans and Contact Graph Routing from the command line, for mission
// planners and scripts. query and tree read a plan in any of the three formats (ION, HDTN, Tern);
// plan predicts one from orbits; walker writes a Walker-delta constellation's TLEs. Output is
// one JSON document on stdout; errors are JSON on stderr with the typed error's code, exit 2.
import { parseOptions, unknownCommand } from '../flight/cli-args.js';
import { TernError } from '../flight/errors.js';
import { ContactVolumes } from '../flight/route/volume.js';
import { RouteArgumentError } from '../flight/route/errors.js';
import { ContactGraph } from '../flight/route/graph.js';
import type { ContactPlan } from '../flight/route/plan.js';
import { readPlanFile } from '../flight/route/plan-load.js';
import { arrivalsByNode, earliestArrivals } from '../flight/route/tree.js';
import { RouteList } from '../flight/route/yen.js';

const QUERY_USAGE = `usage: tern route query --plan FILE --from N --to M --at T [--size BYTES] [--routes K]

The best K routes (default 1) from node N to node M leaving at plan time T (seconds after the
plan's epoch, or an ISO time for a plan with an epoch), in CGR's order (arrival, hops, later-ending
first contact, smaller next hop). With --size, routes that cannot carry BYTES are left out
(looking among the first max(10 K, 64) routes).
Prints {"routes": [{"arrival": T, "hops": H, "nextHop": N, "contacts": [...]}, ...]}.

example:
  tern route query --plan plan.json --from 20 --to 10 --at 0`;

const TREE_USAGE = `usage: tern route tree --plan FILE --from N --at T

The earliest arrival at every node reachable from node N leaving at plan time T: a contact c
from node u is usable when c.end > arrival(u), and arrival over c = max(arrival(u), c.start) + c.owlt.
Prints {"earliest_arrival": {"<node>": <time>, ...}}.

example:
  tern route tree --plan plan.json --from 20 --at 0`;

export const ROUTE_USAGE = `usage: tern route query|tree|plan|walker|emulate|timeline [OPTIONS]

  query   the best routes between two nodes of a contact plan
  tree    the earliest arrival at every node from one node
  plan    predict a contact plan from orbital elements and ground stations
  walker  write the TLEs of a Walker-delta constellation
  emulate relay between a local mission's nodes only inside the plan's contacts
  timeline draw a contact plan as an SVG Gantt chart

Plans may be ION (ionrc lines), HDTN JSON or Tern JSON. Run \`tern route ACTION --help\`.

example:
  tern route query --plan plan.json --from 20 --to 10 --at 0`;

function node(text: string | undefined, option: string): number {
  if (text === undefined) throw new RouteArgumentError(option, 'a node number');
  if (!/^[1-9]\d*$/.test(text)) throw new RouteArgumentError(option, 'a node number', text);
  return Number(text);
}

/** The dense index of node `n` in the plan; a node the plan never names is a mistyped argument. */
function indexIn(g: ContactGraph, n: number, option: string): number {
  const i = g.indexOf(n);
  if (i < 0) throw new RouteArgumentError(option, 'a node the plan names', n);
  return i;
}

function planTime(text: string | undefined, plan: ContactPlan): number {
  if (text === undefined) throw new RouteArgumentError('at', 'a plan time in seconds');
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new RouteArgumentError('at', 'seconds after the plan epoch, or an ISO time', text);
  if (plan.epochMs === undefined) throw new RouteArgumentError('at', 'seconds (this plan has no epoch for an ISO time)', text);
  return (ms - plan.epochMs) / 1000;
}

function count(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new RouteArgumentError(option, 'a whole number', text);
  return Number(text);
}

function loadPlan(file: string | undefined): ContactPlan {
  if (file === undefined) throw new RouteArgumentError('plan', 'a contact plan file');
  const plan = readPlanFile(file);
  for (const s of plan.skipped) console.error(JSON.stringify({ warning: `${file}: ${s}: passed over` }));
  return plan;
}

/** Plan seconds to the microsecond, without binary floating-point tails in the JSON. */
const micro = (t: number): number => Math.round(t * 1e6) / 1e6;

function query(values: Record<string, string | boolean | undefined>): unknown {
  const plan = loadPlan(values.plan as string | undefined);
  const from = node(values.from as string | undefined, 'from');
  const to = node(values.to as string | undefined, 'to');
  const at = planTime(values.at as string | undefined, plan);
  const size = count(values.size as string | undefined, 'size', 0);
  const k = count(values.routes as string | undefined, 'routes', 1);
  const g = new ContactGraph(plan);
  // Routes too small for --size are passed over, among a bounded number so a big plan cannot run on.
  const list = new RouteList(g, indexIn(g, from, 'from'), indexIn(g, to, 'to'), at, Math.max(10 * k, 64));
  const volumes = new ContactVolumes(g);
  const routes = [];
  for (let i = 0; routes.length < k; i++) {
    const r = list.get(i);
    if (!r) break;
    const fits = r.contacts.every((c, h) => volumes.residual(c, 0, h === 0 ? at : r.arrivals[h - 1]!) >= size);
    if (!fits) continue;
    routes.push({
      arrival: micro(r.arrival),
      hops: r.hops,
      nextHop: r.nextHop,
      contacts: r.contacts.map((c) => {
        const { from: f, to: t, start, end, rate, owlt } = plan.contacts[c]!;
        return { from: f, to: t, start, end, rate, owlt };
      }),
    });
  }
  return { routes };
}

function tree(values: Record<string, string | boolean | undefined>): unknown {
  const plan = loadPlan(values.plan as string | undefined);
  const from = node(values.from as string | undefined, 'from');
  const at = planTime(values.at as string | undefined, plan);
  const g = new ContactGraph(plan);
  const source = indexIn(g, from, 'from');
  const arrivals = arrivalsByNode(g, earliestArrivals(g, source, at), source);
  for (const node of Object.keys(arrivals)) arrivals[node] = micro(arrivals[node]!);
  return { earliest_arrival: arrivals };
}

type Values = Record<string, string | boolean | undefined>;

/** One `tern route` action: its usage text, its parseArgs options, and what it prints. */
export interface RouteAction {
  usage: string;
  options: Record<string, { type: 'string' | 'boolean' }>;
  /** Name the one positional argument is given as, if the action takes one. */
  positional?: string;
  run(values: Values): unknown | Promise<unknown>;
}

const ACTIONS: Record<string, RouteAction | (() => Promise<RouteAction>)> = {
  query: {
    usage: QUERY_USAGE,
    options: { plan: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, at: { type: 'string' }, size: { type: 'string' }, routes: { type: 'string' } },
    run: query,
  },
  tree: { usage: TREE_USAGE, options: { plan: { type: 'string' }, from: { type: 'string' }, at: { type: 'string' } }, run: tree },
  // Prediction pulls in satellite.js: loaded only when asked for.
  plan: async () => (await import('./route-predict-cli.js')).PLAN_ACTION,
  walker: async () => (await import('./route-predict-cli.js')).WALKER_ACTION,
  emulate: async () => (await import('./route-emulate-cli.js')).EMULATE_ACTION,
  timeline: async () => (await import('./route-timeline.js')).TIMELINE_ACTION,
};

export async function runRoute(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(ROUTE_USAGE);
    return name === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!entry) {
    console.error(`tern route: ${unknownCommand('tern route', name, Object.keys(ACTIONS)).message}\n\n${ROUTE_USAGE}`);
    return 2;
  }
  const action = typeof entry === 'function' ? await entry() : entry;
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    console.log(action.usage);
    return 0;
  }
  let values: Values;
  try {
    const parsed = parseOptions(`tern route ${name}`, action.options, rest, true);
    values = parsed.values as Values;
    if (parsed.positionals.length > (action.positional ? 1 : 0)) throw new Error(`unexpected argument ${JSON.stringify(parsed.positionals.at(-1))}`);
    if (action.positional) values[action.positional] = parsed.positionals[0];
  } catch (error) {
    console.error(`tern route ${name}: ${(error as Error).message}\n\n${action.usage}`);
    return 2;
  }
  try {
    const out = await action.run(values);
    if (out !== undefined) console.log(JSON.stringify(out));
    return 0;
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    const details = 'where' in error ? { where: (error as { where: string }).where } : 'option' in error ? { option: (error as { option: string }).option } : {};
    console.error(JSON.stringify({ error: { code: error.code, message: error.message, ...details } }));
    return 2;
  }
}
