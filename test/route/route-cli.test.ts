// `tern route` as scripts run it: the real command line in a child process (after npm run build:ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runTern } from '../support/node-process.js';

const CGR = new URL('../../../shared/vectors/cgr/', import.meta.url).pathname;
const TLE = new URL('../../../shared/vectors/tle/iridium-next-2022-03-09.tle', import.meta.url).pathname;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tern-route-'));
  writeFileSync(join(dir, 'stations.json'), JSON.stringify([
    { name: 'Svalbard', node: 1001, latDeg: 78.23, lonDeg: 15.39, altM: 500, minElevationDeg: 10 },
    { name: 'Fairbanks', node: 1002, latDeg: 64.86, lonDeg: -147.85, altM: 200, minElevationDeg: 10 },
    { name: 'Hartebeesthoek', node: 1003, latDeg: -25.89, lonDeg: 27.69, altM: 1500, minElevationDeg: 10 },
  ]));
});

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('tern route query', () => {
  it("prints the tutorial's routes in order", async () => {
    const r = await runTern(['route', 'query', '--plan', `${CGR}cgr-tutorial.ion.txt`, '--from', '1', '--to', '5', '--at', '0', '--routes', '10'], REPO);
    expect(r.code).toBe(0);
    const { routes } = json(r.stdout) as { routes: Array<{ arrival: number; hops: number; nextHop: number; contacts: Array<{ from: number; to: number }> }> };
    expect(routes.map((x) => x.arrival)).toEqual([3, 4, 11, 31, 31, 51, 51]);
    expect(routes.slice(0, 3).map((x) => x.nextHop)).toEqual([3, 2, 5]);
    expect(routes[0]!.contacts.map((c) => [c.from, c.to])).toEqual([[1, 3], [3, 4], [4, 5]]);
    expect(Object.keys(routes[0]!)).toEqual(['arrival', 'hops', 'nextHop', 'contacts']);
  });

  it('leaves out routes that cannot carry --size bytes, and gives the best one by default', async () => {
    const r = await runTern(['route', 'query', '--plan', `${CGR}cgr-tutorial.ion.txt`, '--from', '1', '--to', '5', '--at', '0', '--size', '9'], REPO);
    expect(json(r.stdout)).toMatchObject({ routes: [{ arrival: 11, hops: 1, nextHop: 5 }] });
  });

  it('refuses a bad plan or argument with a typed error on stderr and exit 2', async () => {
    const bad = join(dir, 'bad.ionrc');
    writeFileSync(bad, 'a contact +0 +10 1 2 -1\na range +0 +10 1 2 1\n');
    const r = await runTern(['route', 'query', '--plan', bad, '--from', '1', '--to', '2', '--at', '0'], REPO);
    expect(r.code).toBe(2);
    expect(json(r.stderr)).toEqual({ error: { code: 'ROUTE_PLAN_INVALID', message: `${bad}: line 1 rate: expected a rate > 0 bytes/s, got -1`, where: 'line 1 rate' } });
    const a = await runTern(['route', 'query', '--plan', `${CGR}cgr-tutorial.ion.txt`, '--from', 'one', '--to', '5', '--at', '0'], REPO);
    expect([a.code, (json(a.stderr).error as { code: string }).code]).toEqual([2, 'ROUTE_BAD_ARGUMENT']);
    const n = await runTern(['route', 'tree', '--plan', `${CGR}cgr-tutorial.ion.txt`, '--from', '9', '--at', '0'], REPO);
    expect([n.code, json(n.stderr).error]).toEqual([2, { code: 'ROUTE_BAD_ARGUMENT', message: '--from: expected a node the plan names, got 9', option: 'from' }]);
    const u = await runTern(['route', 'query', '--bogus'], REPO);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('usage: tern route query');
  });

  it('--help on each action', async () => {
    for (const action of ['query', 'tree', 'plan', 'walker']) {
      const r = await runTern(['route', action, '--help'], REPO);
      expect([r.code, r.stdout.startsWith(`usage: tern route ${action}`)]).toEqual([0, true]);
    }
    expect((await runTern(['route', '--help'], REPO)).stdout).toContain('query   the best routes');
  });
});

describe('tern route tree', () => {
  it("prints HDTN's expected earliest arrivals from node 20, and says which contacts it passed over", async () => {
    const r = await runTern(['route', 'tree', '--plan', `${CGR}hdtn-10nodes.json`, '--from', '20', '--at', '0'], REPO);
    const expected = json(readFileSync(`${CGR}hdtn-10nodes.expected.json`, 'utf8'));
    expect(json(r.stdout)).toEqual({ earliest_arrival: expected.earliest_arrival });
    expect(r.stderr.trim().split('\n')).toHaveLength(6);
  });
});

describe('tern route plan and walker', () => {
  it('predicts 24 h of Iridium NEXT with three stations in each format, and the plan routes', async () => {
    const base = ['route', 'plan', '--tle', TLE, '--stations', join(dir, 'stations.json'), '--start', '2022-03-10T00:00:00Z', '--hours', '24'];
    const outs: Record<string, Record<string, unknown>> = {};
    for (const format of ['tern', 'ion', 'hdtn']) {
      const r = await runTern([...base, '--format', format, '--out', join(dir, `iridium.${format}`)], REPO);
      expect(r.stderr).toBe('');
      outs[format] = json(r.stdout);
    }
    expect(outs.tern).toMatchObject({ satellites: 75, stations: 3 });
    expect(outs.tern!.contacts).toBeGreaterThan(5000);
    expect(outs.ion!.contacts).toBe(outs.tern!.contacts);
    const trees = [];
    for (const format of ['tern', 'ion', 'hdtn']) {
      const r = await runTern(['route', 'tree', '--plan', join(dir, `iridium.${format}`), '--from', '1001', '--at', '3600'], REPO);
      trees.push(json(r.stdout).earliest_arrival as Record<string, number>);
    }
    expect(Object.keys(trees[0]!)).toHaveLength(75 + 2);
    for (const t of trees.slice(1)) for (const [node, at] of Object.entries(trees[0]!)) expect(t[node]).toBeCloseTo(at, 3);
  });

  it('writes a Walker constellation that plan reads, and refuses bad elements with a typed error', async () => {
    const tle = join(dir, 'walker.tle');
    const w = await runTern(['route', 'walker', '40/4/1', '--alt-km', '550', '--inc-deg', '53', '--epoch', '2026-01-01T00:00:00Z', '--out', tle], REPO);
    expect(json(w.stdout)).toEqual({ out: tle, satellites: 40 });
    const p = await runTern(['route', 'plan', '--tle', tle, '--stations', join(dir, 'stations.json'), '--start', '2026-01-01T00:00:00Z', '--hours', '2', '--out', join(dir, 'w.json')], REPO);
    expect(json(p.stdout)).toMatchObject({ satellites: 40, stations: 3 });
    // The same elements as OMM JSON, with a node mapping for one satellite.
    const omm = [41917, 41918].map((norad, i) => ({
      OBJECT_NAME: `IRIDIUM ${106 + i}`, OBJECT_ID: '2017-003A', EPOCH: '2026-01-01T00:00:00', MEAN_MOTION: 14.3422, ECCENTRICITY: 0.0002,
      INCLINATION: 86.4, RA_OF_ASC_NODE: 20.5, ARG_OF_PERICENTER: 77.4, MEAN_ANOMALY: 10 + i * 32.7, EPHEMERIS_TYPE: 0,
      NORAD_CAT_ID: norad, ELEMENT_SET_NO: 999, BSTAR: 0.00006, MEAN_MOTION_DOT: 0, MEAN_MOTION_DDOT: 0,
    }));
    writeFileSync(join(dir, 'gp.json'), JSON.stringify(omm));
    writeFileSync(join(dir, 'nodes.json'), JSON.stringify({ 41917: 21 }));
    const o = await runTern(['route', 'plan', '--omm', join(dir, 'gp.json'), '--node-map', join(dir, 'nodes.json'), '--stations', join(dir, 'stations.json'),
      '--start', '2026-01-01T00:00:00Z', '--hours', '1', '--format', 'hdtn', '--out', join(dir, 'omm.json')], REPO);
    expect(json(o.stdout)).toMatchObject({ satellites: 2, format: 'hdtn' });
    const hdtn = json(readFileSync(join(dir, 'omm.json'), 'utf8')) as { contacts: Array<Record<string, number>> };
    const isl = hdtn.contacts.find((c) => c.source === 21 && c.dest === 41918)!;
    expect(Object.keys(isl)).toEqual(['contact', 'source', 'dest', 'startTime', 'endTime', 'rateBitsPerSec', 'owlt']);
    expect(isl.rateBitsPerSec).toBe(10_000_000);
    const broken = join(dir, 'broken.tle');
    writeFileSync(broken, readFileSync(tle, 'utf8').replace(/^(1 80001U.{60})\d/m, (_, head: string) => `${head}X`));
    const b = await runTern(['route', 'plan', '--tle', broken, '--stations', join(dir, 'stations.json'), '--start', '2026-01-01T00:00:00Z', '--hours', '1', '--out', join(dir, 'x.json')], REPO);
    expect(b.code).toBe(2);
    expect(json(b.stderr).error).toMatchObject({ code: 'ROUTE_ORBIT_INVALID', where: 'line 2' });
  });
});
