// `tern route plan` (a contact plan predicted from orbits) and `tern route walker` (the TLEs of a
// Walker-delta constellation). Kept apart from route-cli.ts so that query and tree never load
// satellite.js.
import { readFileSync, writeFileSync } from 'node:fs';
import { OrbitInputError, RouteArgumentError } from '../flight/route/errors.js';
import { parseOmm, parseTle, type Satellite } from '../flight/route/predict/elements.js';
import { ContactPredictor } from '../flight/route/predict/predict.js';
import { parseStations } from '../flight/route/predict/stations.js';
import { parseWalkerShape, walkerTle } from '../flight/route/predict/walker.js';
import { formatHdtnPlan } from '../flight/route/plan-hdtn.js';
import { formatIonPlan } from '../flight/route/plan-ion.js';
import { formatTernPlan } from '../flight/route/plan-tern.js';
import type { RouteAction } from './route-cli.js';

export const PLAN_USAGE = `usage: tern route plan --tle FILE|--omm FILE --stations FILE --start ISO --hours H
         [--step-s S] [--max-range-km R] [--isl-per-sat K] [--min-elevation-deg E]
         [--format tern|ion|hdtn] [--node-map FILE] [--isl-rate B] [--ground-rate B] --out PLAN

Predicts the contacts of the satellites (TLE or CCSDS OMM JSON) with each other and with the
ground stations (a JSON array of {"name", "node", "latDeg", "lonDeg", "altM", "minElevationDeg"})
for H hours from --start, times in seconds from --start. A satellite's node number is its NORAD
catalogue number unless --node-map ({"NORAD": node, ...}) says otherwise.

  --step-s S             propagation step (default 10); pass and ISL edges are refined to 1 s
  --max-range-km R       longest ISL (default 5000)
  --isl-per-sat K        ISL terminals per satellite (default 4: in-plane neighbours, then the
                         nearest satellites of the neighbouring planes)
  --min-elevation-deg E  overrides every station's mask
  --isl-rate B, --ground-rate B   bytes/s per link class (default 1250000, 250000)
  --format               tern (default), ion (ionadmin lines) or hdtn (HDTN's JSON)

Prints {"out", "satellites", "stations", "contacts", "ranges", "seconds"}.

example:
  tern route plan --tle ../shared/vectors/tle/iridium-next-2022-03-09.tle --stations stations.json --start 2022-03-09T00:00:00Z --hours 6 --out plan.json`;

export const WALKER_USAGE = `usage: tern route walker T/P/F --alt-km KM --inc-deg DEG [--epoch ISO] [--first-norad N] [--out FILE]

Writes the two-line element sets of a Walker-delta constellation: T satellites in P planes,
phasing F, circular at KM altitude and DEG inclination, epoch ISO (default: today 00:00 UTC),
catalogue numbers from N (default 80001). To stdout without --out.

example:
  tern route walker 24/6/1 --alt-km 550 --inc-deg 53 --out walker.tle`;

type Values = Record<string, string | boolean | undefined>;

function text(values: Values, option: string): string | undefined {
  const v = values[option];
  return typeof v === 'string' ? v : undefined;
}

function number(values: Values, option: string, fallback?: number, min = 0): number {
  const v = text(values, option);
  if (v === undefined) {
    if (fallback === undefined) throw new RouteArgumentError(option, 'a number');
    return fallback;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new RouteArgumentError(option, `a number >= ${min}`, v);
  return n;
}

function iso(values: Values, option: string, fallback?: number): number {
  const v = text(values, option);
  if (v === undefined) {
    if (fallback === undefined) throw new RouteArgumentError(option, 'an ISO 8601 UTC time');
    return fallback;
  }
  const ms = /^\d{4}-\d{2}-\d{2}(T|$)/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new RouteArgumentError(option, 'an ISO 8601 UTC time', v);
  return ms;
}

function read(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RouteArgumentError(option, 'a readable file', `${file} (${(error as NodeJS.ErrnoException).code})`);
  }
}

function nodeMap(values: Values): Map<number, number> | undefined {
  const file = text(values, 'node-map');
  if (file === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(read(file, 'node-map'));
  } catch (error) {
    if (error instanceof RouteArgumentError) throw error;
    throw new OrbitInputError(file, '(file)', 'a JSON object {"NORAD": node}', (error as Error).message);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new OrbitInputError(file, '(file)', 'a JSON object {"NORAD": node}');
  const map = new Map<number, number>();
  for (const [k, v] of Object.entries(json)) {
    if (!/^\d+$/.test(k) || typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new OrbitInputError(file, k, 'a NORAD number mapped to an ipn node number', v);
    map.set(Number(k), v);
  }
  return map;
}

function satellites(values: Values): Satellite[] {
  const tle = text(values, 'tle');
  const omm = text(values, 'omm');
  if ((tle === undefined) === (omm === undefined)) throw new RouteArgumentError('tle', 'either --tle FILE or --omm FILE');
  const nodes = nodeMap(values);
  return tle !== undefined ? parseTle(read(tle, 'tle'), tle, nodes) : parseOmm(read(omm!, 'omm'), omm!, nodes);
}

function runPlan(values: Values): unknown {
  const began = performance.now();
  const sats = satellites(values);
  const stationsFile = text(values, 'stations');
  if (stationsFile === undefined) throw new RouteArgumentError('stations', 'a ground stations JSON file');
  const stations = parseStations(read(stationsFile, 'stations'), stationsFile);
  const out = text(values, 'out');
  if (out === undefined) throw new RouteArgumentError('out', 'a file to write the plan to');
  const format = text(values, 'format') ?? 'tern';
  if (format !== 'tern' && format !== 'ion' && format !== 'hdtn') throw new RouteArgumentError('format', 'tern, ion or hdtn', format);
  const minElevation = text(values, 'min-elevation-deg');
  const predictor = new ContactPredictor(sats, stations, {
    startMs: iso(values, 'start'),
    durationS: number(values, 'hours') * 3600,
    stepS: number(values, 'step-s', 10, 0.001),
    maxRangeKm: number(values, 'max-range-km', 5000),
    islPerSat: number(values, 'isl-per-sat', 4),
    islRate: number(values, 'isl-rate', 1_250_000, 1),
    groundRate: number(values, 'ground-rate', 250_000, 1),
    ...(minElevation === undefined ? {} : { minElevationDeg: number(values, 'min-elevation-deg', 0, -5) }),
  });
  while (!predictor.advance(1000));
  const plan = predictor.plan();
  const names = new Map([...sats.map((s) => [s.node, s.name] as const), ...stations.map((s) => [s.node, s.name] as const)]);
  writeFileSync(out, format === 'tern' ? formatTernPlan(plan, names) : format === 'ion' ? formatIonPlan(plan) : formatHdtnPlan(plan));
  return {
    out,
    format,
    satellites: sats.length,
    stations: stations.length,
    contacts: plan.contacts.length,
    ranges: plan.ranges.length,
    seconds: Math.round(performance.now() - began) / 1000,
  };
}

function runWalker(values: Values): unknown {
  const shape = text(values, 'shape');
  if (shape === undefined) throw new RouteArgumentError('T/P/F', 'the constellation shape, e.g. 66/6/2');
  const today = new Date();
  const tle = walkerTle({
    ...parseWalkerShape(shape),
    altKm: number(values, 'alt-km'),
    incDeg: number(values, 'inc-deg'),
    epochMs: iso(values, 'epoch', Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())),
    firstNorad: number(values, 'first-norad', 80_001, 1),
  });
  const out = text(values, 'out');
  if (out === undefined) {
    process.stdout.write(tle);
    return undefined;
  }
  writeFileSync(out, tle);
  return { out, satellites: tle.split('\n').length / 3 | 0 };
}

const s = { type: 'string' } as const;

export const PLAN_ACTION: RouteAction = {
  usage: PLAN_USAGE,
  options: {
    tle: s, omm: s, stations: s, start: s, hours: s, 'step-s': s, 'max-range-km': s, 'isl-per-sat': s,
    'min-elevation-deg': s, format: s, out: s, 'node-map': s, 'isl-rate': s, 'ground-rate': s,
  },
  run: runPlan,
};

export const WALKER_ACTION: RouteAction = {
  usage: WALKER_USAGE,
  options: { 'alt-km': s, 'inc-deg': s, epoch: s, 'first-norad': s, out: s },
  positional: 'shape',
  run: runWalker,
};
