// Contact prediction from orbits: propagates every satellite with SGP4 over a time grid and
// turns line of sight into contacts. A ContactPredictor is a cursor over the grid, so a node's
// executive task can run it in budgeted slices (advance(n) steps per slot); the CLI runs it whole.
//
// ISL windows: line of sight clearing the Earth by the grazing altitude, within the maximum range,
// on a terminal the pairing policy (planes.ts) gives the link. Ground passes: elevation above the
// station's mask. A window edge that geometry makes (line of sight, range, elevation) is refined
// by bisection to within `refineS` between the two grid points around it, on the window's side,
// so a coarse step gives the edges a fine one would; an ISL edge the pairing policy makes (a
// terminal taken or freed) stays on the grid, where the policy decides. Each window becomes two directed contacts
// with the rate of its link class, and ranges piecewise every `rangePieceS` seconds, each with
// the largest one-way light time over its piece; the contact's is the largest of its ranges.
import { OrbitInputError } from '../errors.js';
import { buildPlan, type ContactDraft, type ContactPlan, type RangeDraft } from '../plan.js';
import type { Satellite } from './elements.js';
import { clearsEarth, distance, gmstAt, hermite, LIGHT_KM_PER_S, positionAt, sinElevation, slantRangeKm, stationFrame, type StationFrame } from './geometry.js';
import { layPlanes, type PlaneLayout } from './planes.js';
import type { GroundStation } from './stations.js';

export interface PredictOptions {
  /** Unix ms: plan time 0. */
  startMs: number;
  durationS: number;
  stepS?: number;
  maxRangeKm?: number;
  /** ISL terminals per satellite (default 4: two in-plane, two cross-plane). */
  islPerSat?: number;
  /** Line of sight must clear the Earth's surface by this much (default 80 km). */
  grazingKm?: number;
  /** Overrides every station's own mask. */
  minElevationDeg?: number;
  /** Bytes/s by link class. */
  islRate?: number;
  groundRate?: number;
  rangePieceS?: number;
  refineS?: number;
}

interface OpenWindow {
  start: number;
  pieceStart: number;
  pieceMaxKm: number;
  pieces: Array<{ start: number; end: number; km: number }>;
}

interface Link {
  kind: 'isl' | 'ground';
  a: number; // node numbers
  b: number;
  w: OpenWindow;
}

/** The links up at one grid point: keys and ranges in reused arrays, membership by a per-key stamp. */
class StepLinks {
  keys = new Int32Array(64);
  kms = new Float64Array(64);
  count = 0;
  private readonly stamp: Int32Array;
  private round = 0;

  constructor(size: number) {
    this.stamp = new Int32Array(size);
  }

  begin(): void {
    this.count = 0;
    this.round++;
  }

  add(key: number, km: number): void {
    if (this.count === this.keys.length) {
      const keys = new Int32Array(this.count * 2);
      const kms = new Float64Array(this.count * 2);
      keys.set(this.keys);
      kms.set(this.kms);
      this.keys = keys;
      this.kms = kms;
    }
    this.stamp[key] = this.round;
    this.keys[this.count] = key;
    this.kms[this.count++] = km;
  }

  has(key: number): boolean {
    return this.stamp[key] === this.round;
  }
}

/** Windows open now: by key for lookup, in opening order for closing. */
class OpenLinks {
  readonly byKey: Array<Link | undefined>;
  readonly open = new Set<number>();

  constructor(size: number) {
    this.byKey = new Array<Link | undefined>(size);
  }
}

export class ContactPredictor {
  readonly stepS: number;
  private readonly steps: number;
  private k = 0;
  /** The grid point before the current one: the last time a window that closes now was seen open. */
  private previousT = 0;
  private readonly pos: Float64Array;
  private readonly alive: Uint8Array;
  private readonly vel: Float64Array;
  /** The state at the previous grid point: whether an ISL edge there was geometry's, and where it lies. */
  private readonly prevPos: Float64Array;
  private readonly prevVel: Float64Array;
  private readonly prevAlive: Uint8Array;
  /** Scratch positions of two satellites for refinement. */
  private readonly pair = new Float64Array(6);
  /** The range (km) at the edge refineIsl last returned: a window's range pieces include it. */
  private edgeKm = 0;
  private layout: PlaneLayout | undefined;
  private readonly frames: StationFrame[];
  private readonly freeTerminals: Int32Array;
  private readonly isl: OpenLinks; // key i * n + j, i < j
  private readonly ground: OpenLinks; // key station * n + sat
  private readonly islUp: StepLinks;
  private readonly groundUp: StepLinks;
  private readonly contacts: ContactDraft[] = [];
  private readonly ranges: RangeDraft[] = [];
  private readonly o: Required<Omit<PredictOptions, 'minElevationDeg'>>;

  constructor(
    private readonly sats: readonly Satellite[],
    private readonly stations: readonly GroundStation[],
    options: PredictOptions,
  ) {
    this.o = {
      stepS: 10, maxRangeKm: 5000, islPerSat: 4, grazingKm: 80, islRate: 1_250_000, groundRate: 250_000,
      rangePieceS: 300, refineS: 1, ...options,
    };
    this.stepS = this.o.stepS;
    this.steps = Math.ceil(this.o.durationS / this.stepS);
    this.pos = new Float64Array(3 * sats.length);
    this.alive = new Uint8Array(sats.length);
    this.vel = new Float64Array(3 * sats.length);
    this.prevPos = new Float64Array(3 * sats.length);
    this.prevVel = new Float64Array(3 * sats.length);
    this.prevAlive = new Uint8Array(sats.length);
    this.freeTerminals = new Int32Array(sats.length);
    this.isl = new OpenLinks(sats.length * sats.length);
    this.islUp = new StepLinks(sats.length * sats.length);
    this.ground = new OpenLinks(stations.length * sats.length);
    this.groundUp = new StepLinks(stations.length * sats.length);
    this.frames = stations.map((s) => stationFrame(s, options.minElevationDeg ?? s.minElevationDeg));
    const satNodes = new Set(sats.map((s) => s.node));
    if (satNodes.size !== sats.length) throw new OrbitInputError('elements', 'satellites', 'one node number per satellite (NORAD numbers or --node-map)', 'a node number twice');
    for (const s of stations) {
      if (satNodes.has(s.node)) throw new OrbitInputError('stations', s.name, 'a node number no satellite has', s.node);
    }
  }

  get done(): boolean {
    return this.k > this.steps;
  }

  /** Grid points processed so far, of totalSteps. */
  get progress(): { step: number; totalSteps: number } {
    return { step: this.k, totalSteps: this.steps + 1 };
  }

  /** Processes up to `maxSteps` grid points; true once the whole span is done. */
  advance(maxSteps: number): boolean {
    for (let n = 0; n < maxSteps && !this.done; n++, this.k++) this.stepAt(Math.min(this.k * this.stepS, this.o.durationS));
    return this.done;
  }

  /** The predicted plan; call once advance() has returned true. */
  plan(): ContactPlan {
    if (!this.done) throw new Error('prediction not finished');
    return buildPlan(this.contacts, this.ranges, { source: 'prediction', epochMs: this.o.startMs });
  }

  private stepAt(t: number): void {
    const ms = this.o.startMs + t * 1000;
    this.prevPos.set(this.pos);
    this.prevVel.set(this.vel);
    this.prevAlive.set(this.alive);
    for (let i = 0; i < this.sats.length; i++) {
      const s = this.sats[i]!;
      this.alive[i] = positionAt(s.satrec, s.epochMs, ms, this.pos, 3 * i, this.vel) ? 1 : 0;
    }
    this.layout ??= layPlanes(this.sats, this.o.startMs, this.pos, this.o.islPerSat);
    const last = t >= this.o.durationS;
    this.islStep(t, last);
    this.groundStep(t, ms, last);
    this.previousT = t;
  }

  private islStep(t: number, last: boolean): void {
    const { pos, alive, sats, layout } = this;
    const n = sats.length;
    const usable = (i: number, j: number): number => (alive[i] && alive[j] ? this.islRange(pos, 3 * i, 3 * j) : -1);
    const up = this.islUp;
    up.begin();
    this.freeTerminals.fill(this.o.islPerSat);
    for (const [i, j] of layout!.inPlane) {
      this.freeTerminals[i]!--;
      this.freeTerminals[j]!--;
      const d = usable(i, j);
      if (d >= 0) up.add(i * n + j, d);
    }
    // Cross-plane links already up stay while they can.
    for (const key of this.isl.open) {
      const i = Math.floor(key / n), j = key % n;
      if (layout!.plane[i] === layout!.plane[j]) continue;
      const d = usable(i, j);
      if (d >= 0 && this.freeTerminals[i]! > 0 && this.freeTerminals[j]! > 0) {
        up.add(key, d);
        this.freeTerminals[i]!--;
        this.freeTerminals[j]!--;
      }
    }
    // Free terminals take the nearest satellites of the neighbouring planes.
    const candidates: Array<[number, number, number]> = [];
    for (let i = 0; i < n; i++) {
      if (this.freeTerminals[i]! <= 0) continue;
      for (const q of layout!.neighbours[layout!.plane[i]!]!) {
        for (const j of layout!.members[q]!) {
          if (j <= i || this.freeTerminals[j]! <= 0 || up.has(i * n + j)) continue;
          const d = usable(i, j);
          if (d >= 0) candidates.push([d, i, j]);
        }
      }
    }
    candidates.sort((x, y) => x[0] - y[0]);
    for (const [d, i, j] of candidates) {
      if (this.freeTerminals[i]! <= 0 || this.freeTerminals[j]! <= 0) continue;
      up.add(i * n + j, d);
      this.freeTerminals[i]!--;
      this.freeTerminals[j]!--;
    }
    const edge = (key: number, opening: boolean): number => this.refineIsl(Math.floor(key / n), key % n, t, opening);
    this.update(this.isl, up, t, last, (key) => ({ kind: 'isl', a: sats[Math.floor(key / n)]!.node, b: sats[key % n]!.node }), edge);
  }

  /** The range (km) between points a and b of `p` if a link can span it (range, Earth clearance), else -1. */
  private islRange(p: Float64Array, a: number, b: number): number {
    const d = distance(p, a, b);
    return d <= this.o.maxRangeKm && clearsEarth(p, a, b, this.o.grazingKm) ? d : -1;
  }

  /**
   * Where ISL i-j opens (or closes) between the previous grid point and t. Geometry's edge (the
   * link could not be up on the other side) is found by bisection to within refineS, on the side
   * where the link is up, over positions interpolated from the two grid points' states (both
   * satellites were alive at both: the link was up at one, and could be but for geometry at the
   * other); the pairing policy's stays on the grid (t when opening, the previous point when
   * closing), so no satellite ever has more links than terminals.
   */
  private refineIsl(i: number, j: number, t: number, opening: boolean): number {
    const before = this.previousT;
    const outside = opening
      ? this.prevAlive[i] && this.prevAlive[j] ? this.islRange(this.prevPos, 3 * i, 3 * j) : -1
      : this.alive[i] && this.alive[j] ? this.islRange(this.pos, 3 * i, 3 * j) : -1;
    if (outside >= 0) {
      this.edgeKm = distance(opening ? this.pos : this.prevPos, 3 * i, 3 * j);
      return opening ? t : before;
    }
    if (!(this.prevAlive[i] && this.prevAlive[j] && this.alive[i] && this.alive[j])) return opening ? t : before;
    const p = this.pair;
    const h = t - before;
    const km = (time: number): number => {
      const s = (time - before) / h;
      hermite(this.prevPos, this.prevVel, this.pos, this.vel, 3 * i, h, s, p, 0);
      hermite(this.prevPos, this.prevVel, this.pos, this.vel, 3 * j, h, s, p, 3);
      return this.islRange(p, 0, 3);
    };
    // Invariant: the link is down at `out` and up at `inside` (range upKm there).
    let out = opening ? before : t;
    let inside = opening ? t : before;
    let upKm = distance(opening ? this.pos : this.prevPos, 3 * i, 3 * j);
    while (Math.abs(inside - out) > this.o.refineS) {
      const mid = (out + inside) / 2;
      const d = km(mid);
      if (d >= 0) {
        inside = mid;
        upKm = d;
      } else {
        out = mid;
      }
    }
    this.edgeKm = upKm;
    return Math.round(inside * 1000) / 1000;
  }

  private groundStep(t: number, ms: number, last: boolean): void {
    const n = this.sats.length;
    const gmst = gmstAt(ms);
    const cosG = Math.cos(gmst);
    const sinG = Math.sin(gmst);
    const up = this.groundUp;
    up.begin();
    this.frames.forEach((f, s) => {
      for (let i = 0; i < n; i++) {
        if (this.alive[i] && sinElevation(f, this.pos, 3 * i, cosG, sinG) >= f.sinMask) up.add(s * n + i, slantRangeKm(f, this.pos, 3 * i, cosG, sinG));
      }
    });
    const edge = (key: number, opening: boolean): number => this.refinePass(key, t, opening);
    this.update(this.ground, up, t, last, (key) => ({ kind: 'ground', a: this.stations[Math.floor(key / n)]!.node, b: this.sats[key % n]!.node }), edge);
  }

  /** The time between the previous grid point and t where pass `key` crosses its station's mask. */
  private refinePass(key: number, t: number, opening: boolean): number {
    const n = this.sats.length;
    const f = this.frames[Math.floor(key / n)]!;
    const sat = this.sats[key % n]!;
    const p = new Float64Array(3);
    const above = (time: number): boolean => {
      const ms = this.o.startMs + time * 1000;
      const g = gmstAt(ms);
      return positionAt(sat.satrec, sat.epochMs, ms, p, 0) && sinElevation(f, p, 0, Math.cos(g), Math.sin(g)) >= f.sinMask;
    };
    // Invariant: above(lo) !== opening, above(hi) === opening.
    let lo = Math.max(0, t - this.stepS);
    let hi = t;
    while (hi - lo > this.o.refineS) {
      const mid = (lo + hi) / 2;
      if (above(mid) === opening) hi = mid;
      else lo = mid;
    }
    return Math.round((opening ? hi : lo) * 1000) / 1000;
  }

  private update(
    links: OpenLinks,
    up: StepLinks,
    t: number,
    last: boolean,
    make: (key: number) => Omit<Link, 'w'>,
    edge?: (key: number, opening: boolean) => number,
  ): void {
    for (let x = 0; x < up.count; x++) {
      const key = up.keys[x]!;
      const km = up.kms[x]!;
      let link = links.byKey[key];
      if (!link) {
        this.edgeKm = 0;
        const start = t === 0 || !edge ? t : edge(key, true);
        link = { ...make(key), w: { start, pieceStart: start, pieceMaxKm: this.edgeKm, pieces: [] } };
        links.byKey[key] = link;
        links.open.add(key);
      }
      const w = link.w;
      if (km > w.pieceMaxKm) w.pieceMaxKm = km;
      if (t - w.pieceStart >= this.o.rangePieceS) {
        w.pieces.push({ start: w.pieceStart, end: t, km: w.pieceMaxKm });
        w.pieceStart = t;
        w.pieceMaxKm = km;
      }
    }
    for (const key of links.open) {
      const closing = !up.has(key);
      if (!closing && !last) continue;
      const link = links.byKey[key]!;
      this.edgeKm = 0;
      const end = !closing ? t : edge ? edge(key, false) : this.previousT;
      if (this.edgeKm > link.w.pieceMaxKm) link.w.pieceMaxKm = this.edgeKm;
      this.close(link, end);
      links.byKey[key] = undefined;
      links.open.delete(key);
    }
  }

  private close(link: Link, end: number): void {
    const w = link.w;
    if (!(end > w.start)) return; // shorter than the refinement: no usable window
    if (end > w.pieceStart) w.pieces.push({ start: w.pieceStart, end, km: w.pieceMaxKm });
    const rate = link.kind === 'isl' ? this.o.islRate : this.o.groundRate;
    const owlts = w.pieces.map((piece) => Math.round((piece.km / LIGHT_KM_PER_S) * 1e6) / 1e6);
    const owlt = Math.max(...owlts);
    for (const [from, to] of [[link.a, link.b], [link.b, link.a]] as const) {
      const where = `${link.kind} ${from} -> ${to} at ${w.start}`;
      this.contacts.push({ where, from, to, start: w.start, end, rate, owlt });
      w.pieces.forEach((piece, k) => this.ranges.push({ where, from, to, start: piece.start, end: piece.end, owlt: owlts[k]! }));
    }
  }
}
