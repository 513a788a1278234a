// Walker-delta constellations (T/P/F: T satellites in P equally spaced planes, phasing F) as
// two-line element sets, for missions that have no elements yet: circular orbits at one
// altitude and inclination, plane p at RAAN 360 p / P, satellite s of a plane at mean anomaly
// 360 s / (T / P) + 360 F p / T.
import { OrbitInputError } from '../errors.js';

const MU_KM3_S2 = 398_600.4418;
const EARTH_RADIUS_KM = 6378.137;

export interface WalkerOptions {
  total: number;
  planes: number;
  phasing: number;
  altKm: number;
  incDeg: number;
  /** Unix ms of the element sets' epoch. */
  epochMs: number;
  /** Catalogue (and node) number of the first satellite. */
  firstNorad?: number;
}

export function parseWalkerShape(text: string): { total: number; planes: number; phasing: number } {
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(text);
  const [total, planes, phasing] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  if (!m || planes < 1 || total < planes || total % planes !== 0 || phasing >= planes) {
    throw new OrbitInputError('walker', 'T/P/F', 'T/P/F with P dividing T and 0 <= F < P (e.g. 66/6/2)', text);
  }
  return { total, planes, phasing };
}

function checksum(line: string): number {
  let sum = 0;
  for (const ch of line) sum += ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : ch === '-' ? 1 : 0;
  return sum % 10;
}

const angle = (deg: number): string => (((deg % 360) + 360) % 360).toFixed(4).padStart(8);

export function walkerTle(o: WalkerOptions): string {
  if (!(o.altKm >= 160 && o.altKm <= 40_000)) throw new OrbitInputError('walker', 'alt-km', 'an altitude in [160, 40000] km', o.altKm);
  if (!(o.incDeg >= 0 && o.incDeg <= 180)) throw new OrbitInputError('walker', 'inc-deg', 'an inclination in [0, 180] deg', o.incDeg);
  const first = o.firstNorad ?? 80_001;
  if (first + o.total - 1 > 99_999) throw new OrbitInputError('walker', 'T', 'catalogue numbers within 5 digits', first + o.total - 1);
  const a = EARTH_RADIUS_KM + o.altKm;
  const revPerDay = (Math.sqrt(MU_KM3_S2 / a ** 3) * 86_400) / (2 * Math.PI);
  const epoch = new Date(o.epochMs);
  const yearStart = Date.UTC(epoch.getUTCFullYear(), 0, 1);
  const day = 1 + (o.epochMs - yearStart) / 86_400_000;
  const epochField = `${String(epoch.getUTCFullYear() % 100).padStart(2, '0')}${day.toFixed(8).padStart(12, '0')}`;
  const perPlane = o.total / o.planes;
  const lines: string[] = [];
  for (let p = 0; p < o.planes; p++) {
    for (let s = 0; s < perPlane; s++) {
      const norad = String(first + p * perPlane + s).padStart(5, '0');
      const l1 = `1 ${norad}U 00000A   ${epochField}  .00000000  00000-0  00000-0 0  999`;
      const ma = (360 * s) / perPlane + (360 * o.phasing * p) / o.total;
      const l2 = `2 ${norad} ${angle(o.incDeg)} ${angle((360 * p) / o.planes)} 0000001   0.0000 ${angle(ma)} ${revPerDay.toFixed(8).padStart(11)}    1`;
      lines.push(`WALKER P${p + 1} S${s + 1}`, `${l1}${checksum(l1)}`, `${l2}${checksum(l2)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
