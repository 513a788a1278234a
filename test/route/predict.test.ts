import { readFileSync } from 'node:fs';
import { degreesToRadians, ecfToLookAngles, eciToEcf, gstime, propagate, radiansToDegrees, type EciVec3 } from 'satellite.js';
import { describe, expect, it } from 'vitest';
import { OrbitInputError } from '../../flight/route/errors.js';
import { parseOmm, parseTle, type Satellite } from '../../flight/route/predict/elements.js';
import { ContactPredictor } from '../../flight/route/predict/predict.js';
import { parseStations, type GroundStation } from '../../flight/route/predict/stations.js';
import { parseWalkerShape, walkerTle } from '../../flight/route/predict/walker.js';

const TLE_FILE = new URL('../../../shared/vectors/tle/iridium-next-2022-03-09.tle', import.meta.url).pathname;
const TLE = readFileSync(TLE_FILE, 'utf8');
const START = Date.UTC(2022, 2, 10);
const STATIONS: GroundStation[] = [
  { name: 'Svalbard', node: 1001, latDeg: 78.23, lonDeg: 15.39, altM: 500, minElevationDeg: 10 },
  { name: 'Hartebeesthoek', node: 1003, latDeg: -25.89, lonDeg: 27.69, altM: 1500, minElevationDeg: 10 },
];
const refused = (f: () => unknown, message: string): void => {
  expect(f).toThrow(OrbitInputError);
  expect(f).toThrow(message);
};

function eci(sat: Satellite, ms: number): EciVec3<number> {
  const pv = propagate(sat.satrec, new Date(ms));
  if (!pv) throw new Error('propagation failed');
  return pv.position;
}

function elevationDeg(sat: Satellite, st: GroundStation, ms: number): number {
  const ecf = eciToEcf(eci(sat, ms), gstime(new Date(ms)));
  const observer = { latitude: degreesToRadians(st.latDeg), longitude: degreesToRadians(st.lonDeg), height: st.altM / 1000 };
  return radiansToDegrees(ecfToLookAngles(observer, ecf).elevation);
}

describe('orbital elements', () => {
  it('reads the Iridium NEXT TLEs: node numbers are NORAD numbers unless mapped', () => {
    const sats = parseTle(TLE, 'iridium.tle', new Map([[41917, 7]]));
    expect(sats).toHaveLength(75);
    expect([sats[0]!.name, sats[0]!.norad, sats[0]!.node]).toEqual(['IRIDIUM 106', 41917, 7]);
    expect(sats[1]!.node).toBe(sats[1]!.norad);
    expect(new Date(sats[0]!.epochMs).toISOString()).toBe('2022-03-09T22:21:54.375Z');
  });

  it('refuses bad TLEs naming the line', () => {
    const [name, l1, l2] = TLE.split('\n') as [string, string, string];
    const bump = (l: string): string => `${l.slice(0, 68)}${(Number(l[68]) + 1) % 10}`;
    refused(() => parseTle(`${name}\n${bump(l1)}\n${l2}\n`, 't.tle'), 't.tle: line 2: expected checksum');
    refused(() => parseTle(`${name}\n${l1}\n${l2.slice(0, 40)}\n`, 't.tle'), 't.tle: line 3: expected TLE line 2 of 69 characters');
    refused(() => parseTle(`${l2}\n`, 't.tle'), 't.tle: line 1: expected line 1 of a TLE before its line 2');
    const other = l2.replace('41917', '41918');
    refused(() => parseTle(`${l1}\n${other.slice(0, 68)}${(Number(other[68]) + 1) % 10}\n`, 't.tle'), 't.tle: line 2: expected the catalogue number of line 1 (41917)');
    refused(() => parseTle('\n\n', 't.tle'), 't.tle: (file): expected at least one two-line element set');
  });

  it('reads CCSDS OMM JSON as CelesTrak publishes it, agreeing with the same elements as a TLE', () => {
    const omm = {
      OBJECT_NAME: 'IRIDIUM 106', OBJECT_ID: '2017-003A', EPOCH: '2022-03-09T22:21:54.375840', MEAN_MOTION: 14.34220823,
      ECCENTRICITY: 0.0002217, INCLINATION: 86.4012, RA_OF_ASC_NODE: 20.511, ARG_OF_PERICENTER: 77.4413, MEAN_ANOMALY: 282.7031,
      EPHEMERIS_TYPE: 0, CLASSIFICATION_TYPE: 'U', NORAD_CAT_ID: 41917, ELEMENT_SET_NO: 999, REV_AT_EPOCH: 26957,
      BSTAR: 6.157e-5, MEAN_MOTION_DOT: 1.92e-6, MEAN_MOTION_DDOT: 0,
    };
    const [fromOmm] = parseOmm(JSON.stringify([omm]), 'gp.json');
    const [fromTle] = parseTle(TLE, 'iridium.tle');
    expect(fromOmm!.node).toBe(41917);
    const a = eci(fromOmm!, START + 3_600_000);
    const b = eci(fromTle!, START + 3_600_000);
    expect(Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z)).toBeLessThan(0.1); // km
    refused(() => parseOmm(JSON.stringify({ ...omm, MEAN_MOTION: undefined }), 'gp.json'), 'gp.json: [0].MEAN_MOTION: expected a number, got nothing');
    refused(() => parseOmm(JSON.stringify({ ...omm, EPOCH: 'soon' }), 'gp.json'), 'gp.json: [0].EPOCH: expected an ISO time, got soon');
    refused(() => parseOmm(JSON.stringify({ ...omm, ECCENTRICITY: 1.5 }), 'gp.json'), 'gp.json: [0]: expected elements SGP4 can propagate');
    refused(() => parseOmm('[{', 'gp.json'), 'gp.json: (file): expected OMM as JSON');
  });

  it('refuses bad station files naming the entry', () => {
    const ok = JSON.stringify(STATIONS);
    expect(parseStations(ok, 's.json')).toEqual(STATIONS);
    refused(() => parseStations(JSON.stringify([{ ...STATIONS[0], latDeg: 91 }]), 's.json'), 's.json: [0].latDeg: expected a number in [-90, 90], got 91');
    refused(() => parseStations(JSON.stringify([STATIONS[0], STATIONS[0]]), 's.json'), 's.json: [1].node: expected a node number no other station has');
    refused(() => parseStations('{}', 's.json'), 's.json: (file): expected a JSON array of stations');
    const sats = parseTle(TLE, 'iridium.tle');
    refused(() => new ContactPredictor(sats, [{ ...STATIONS[0]!, node: 41917 }], { startMs: START, durationS: 60 }), 'stations: Svalbard: expected a node number no satellite has, got 41917');
  });
});

describe('contact prediction', () => {
  const sats = parseTle(TLE, 'iridium.tle');
  const options = { startMs: START, durationS: 3 * 3600, stepS: 30 };
  const predict = (slice = 1_000_000) => {
    const p = new ContactPredictor(sats, STATIONS, options);
    let slices = 0;
    while (!p.advance(slice)) slices++;
    return { plan: p.plan(), slices };
  };
  const { plan } = predict();
  const byNode = new Map(sats.map((s) => [s.node, s]));
  const stationOf = new Map(STATIONS.map((s) => [s.node, s]));

  it('ground passes start and end where the elevation crosses the mask, to within a second, not on the grid', () => {
    const passes = plan.contacts.filter((c) => stationOf.has(c.from) && c.start > 0 && c.end < options.durationS);
    expect(passes.length).toBeGreaterThan(20);
    expect(passes.some((c) => c.start % options.stepS !== 0)).toBe(true);
    for (const c of passes) {
      const st = stationOf.get(c.from)!;
      const sat = byNode.get(c.to)!;
      const at = (t: number): number => elevationDeg(sat, st, START + t * 1000);
      expect(at(c.start + 1)).toBeGreaterThan(st.minElevationDeg - 0.01);
      expect(at(c.start - 1)).toBeLessThan(st.minElevationDeg + 0.01);
      expect(at(c.end - 1)).toBeGreaterThan(st.minElevationDeg - 0.01);
      expect(at(c.end + 1)).toBeLessThan(st.minElevationDeg + 0.01);
      expect(at((c.start + c.end) / 2)).toBeGreaterThan(st.minElevationDeg);
    }
  });

  it('ISLs have line of sight clear of the Earth by 80 km, range within 5000 km, and one-way light time from range', () => {
    const isls = plan.contacts.filter((c) => byNode.has(c.from) && byNode.has(c.to));
    expect(isls.length).toBeGreaterThan(100);
    for (const c of isls.slice(0, 400)) {
      const t = START + ((c.start + c.end) / 2) * 1000;
      const a = eci(byNode.get(c.from)!, t);
      const b = eci(byNode.get(c.to)!, t);
      const d = { x: b.x - a.x, y: b.y - a.y, z: b.z - a.z };
      const km = Math.hypot(d.x, d.y, d.z);
      expect(km).toBeLessThanOrEqual(5000);
      const s = Math.min(1, Math.max(0, -(a.x * d.x + a.y * d.y + a.z * d.z) / (km * km)));
      expect(Math.hypot(a.x + s * d.x, a.y + s * d.y, a.z + s * d.z)).toBeGreaterThan(6378.137 + 80);
      expect(c.owlt).toBeGreaterThanOrEqual(km / 299_792.458 - 1e-5);
      expect(c.owlt).toBeLessThan(5000 / 299_792.458 + 1e-6);
    }
  });

  it('no satellite uses more ISL terminals than it has, at any time', () => {
    for (let t = 0; t < options.durationS; t += 600) {
      const used = new Map<number, number>();
      for (const c of plan.contacts) {
        if (byNode.has(c.from) && byNode.has(c.to) && c.start <= t && t < c.end) used.set(c.from, (used.get(c.from) ?? 0) + 1);
      }
      expect(Math.max(...used.values())).toBeLessThanOrEqual(4);
      expect(Math.max(...used.values())).toBeGreaterThanOrEqual(3);
    }
  });

  it('ranges are piecewise over long contacts, and cover each contact', () => {
    const long = plan.contacts.find((c) => c.end - c.start >= 3 * 3600 - 1)!;
    const pieces = plan.ranges.filter((r) => r.from === long.from && r.to === long.to);
    expect(pieces.length).toBeGreaterThanOrEqual(30);
    expect(pieces[0]!.start).toBe(long.start);
    expect(pieces[pieces.length - 1]!.end).toBe(long.end);
  });

  it('runs in slices (an executive task) to the same plan as in one go', () => {
    const sliced = predict(7);
    expect(sliced.slices).toBeGreaterThan(40);
    expect(sliced.plan).toEqual(plan);
  });
});

describe('window edges off the grid', () => {
  // Two neighbouring Iridium planes and two stations for 3 h, with terminals enough that every
  // usable pair is linked: every edge is then geometry's, which a 1 s step finds on its grid.
  const sats = parseTle(TLE, 'iridium.tle');
  const run = (stepS: number) => {
    const p = new ContactPredictor(sats.slice(0, 33), STATIONS, { startMs: START, durationS: 3 * 3600, stepS, islPerSat: 32 });
    while (!p.advance(100_000));
    return p.plan().contacts.filter((c) => c.from < c.to);
  };

  it('a 60 s step gives every ISL and pass edge within a second of a 1 s step', () => {
    const coarse = run(60);
    const fine = run(1);
    const station = new Set(STATIONS.map((st) => st.node));
    const edges = coarse.filter((c) => !station.has(c.from) && !station.has(c.to)).flatMap((c) => [c.start, c.end]).filter((t) => t > 0 && t < 3 * 3600);
    expect(edges.length).toBeGreaterThan(40);
    // Off the grid (one of them happens to fall within a second before a grid point).
    expect(edges.filter((t) => t % 60 !== 0).length).toBeGreaterThan(0.9 * edges.length);
    const unmatched = coarse.filter((c) => !fine.some((f) => f.from === c.from && f.to === c.to && Math.abs(f.start - c.start) <= 1 && Math.abs(f.end - c.end) <= 1));
    expect(unmatched).toEqual([]);
    // Windows the coarse grid did not see at all are shorter than its step.
    const missed = fine.filter((f) => !coarse.some((c) => c.from === f.from && c.to === f.to && c.start < f.end && f.start < c.end));
    for (const f of missed) expect(f.end - f.start).toBeLessThan(60);
  });
});

describe('Walker-delta constellations', () => {
  it('writes valid TLEs in P planes at the altitude asked, which predict as P planes', () => {
    const tle = walkerTle({ ...parseWalkerShape('40/4/1'), altKm: 550, incDeg: 53, epochMs: START });
    const sats = parseTle(tle, 'walker.tle');
    expect(sats.map((s) => s.node)).toEqual(Array.from({ length: 40 }, (_, i) => 80_001 + i));
    for (const s of sats) {
      const p = eci(s, START);
      expect(Math.hypot(p.x, p.y, p.z) - 6378.137).toBeGreaterThan(530);
      expect(Math.hypot(p.x, p.y, p.z) - 6378.137).toBeLessThan(575);
    }
    const plan = new ContactPredictor(sats, [], { startMs: START, durationS: 600, stepS: 60, maxRangeKm: 6000 });
    plan.advance(100);
    const isls = plan.plan().contacts;
    // Each satellite keeps its two in-plane neighbours (36 deg apart) all along: 40 ring links, both directions.
    expect(isls.filter((c) => c.start === 0 && c.end === 600 && Math.floor((c.from - 80_001) / 10) === Math.floor((c.to - 80_001) / 10))).toHaveLength(80);
    expect(() => parseWalkerShape('24/5/1')).toThrow(OrbitInputError);
    expect(() => parseWalkerShape('24/4/4')).toThrow('expected T/P/F with P dividing T and 0 <= F < P');
  });
});
