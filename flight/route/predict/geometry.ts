// The geometry contact prediction needs, on a spherical Earth for line of sight and WGS-84 for
// stations: positions in km, ECI (TEME, as SGP4 gives them) for satellite pairs, Earth-fixed for
// stations, rotated by Greenwich sidereal time.
import { degreesToRadians, geodeticToEcf, gstime, sgp4, type SatRec } from 'satellite.js';
import type { GroundStation } from './stations.js';

export const EARTH_RADIUS_KM = 6378.137;
export const LIGHT_KM_PER_S = 299_792.458;
const JD_UNIX = 2440587.5;

/** Greenwich mean sidereal time (radians) at Unix ms. */
export function gmstAt(ms: number): number {
  return gstime(ms / 86_400_000 + JD_UNIX);
}

/** Writes satellite `satrec`'s ECI position (km) at Unix ms into out[o..o+2], and its velocity
 *  (km/s) into vel[o..o+2] if given; false if SGP4 fails (decayed). */
export function positionAt(satrec: SatRec, epochMs: number, ms: number, out: Float64Array, o: number, vel?: Float64Array): boolean {
  const pv = sgp4(satrec, (ms - epochMs) / 60_000);
  if (!pv || typeof pv.position !== 'object') return false;
  out[o] = pv.position.x;
  out[o + 1] = pv.position.y;
  out[o + 2] = pv.position.z;
  if (vel) {
    vel[o] = pv.velocity.x;
    vel[o + 1] = pv.velocity.y;
    vel[o + 2] = pv.velocity.z;
  }
  return true;
}

/**
 * Cubic Hermite interpolation between two states h seconds apart (positions p0, p1 and velocities
 * v0, v1 at offset o), at fraction s of the way, into out[oo..]. Over a minute of a low orbit its
 * error is well under a metre, so edges are refined without calling SGP4 again.
 */
export function hermite(p0: Float64Array, v0: Float64Array, p1: Float64Array, v1: Float64Array, o: number, h: number, s: number, out: Float64Array, oo: number): void {
  const s2 = s * s, s3 = s2 * s;
  const a = 2 * s3 - 3 * s2 + 1, b = (s3 - 2 * s2 + s) * h, c = 3 * s2 - 2 * s3, d = (s3 - s2) * h;
  for (let k = 0; k < 3; k++) out[oo + k] = a * p0[o + k]! + b * v0[o + k]! + c * p1[o + k]! + d * v1[o + k]!;
}

/** Distance (km) between points a and b of flat xyz arrays. */
export function distance(p: Float64Array, a: number, b: number): number {
  const dx = p[a]! - p[b]!;
  const dy = p[a + 1]! - p[b + 1]!;
  const dz = p[a + 2]! - p[b + 2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Whether the segment between points a and b clears the Earth by `clearKm` (grazing altitude). */
export function clearsEarth(p: Float64Array, a: number, b: number, clearKm: number): boolean {
  const ax = p[a]!, ay = p[a + 1]!, az = p[a + 2]!;
  const dx = p[b]! - ax, dy = p[b + 1]! - ay, dz = p[b + 2]! - az;
  const len2 = dx * dx + dy * dy + dz * dz;
  const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, -(ax * dx + ay * dy + az * dz) / len2));
  const cx = ax + t * dx, cy = ay + t * dy, cz = az + t * dz;
  const r = EARTH_RADIUS_KM + clearKm;
  return cx * cx + cy * cy + cz * cz >= r * r;
}

/** A station's Earth-fixed position and local vertical. */
export interface StationFrame {
  x: number; y: number; z: number;
  ux: number; uy: number; uz: number;
  sinMask: number;
}

export function stationFrame(s: GroundStation, minElevationDeg: number): StationFrame {
  const lat = degreesToRadians(s.latDeg);
  const lon = degreesToRadians(s.lonDeg);
  const p = geodeticToEcf({ latitude: lat, longitude: lon, height: s.altM / 1000 });
  return {
    x: p.x, y: p.y, z: p.z,
    ux: Math.cos(lat) * Math.cos(lon), uy: Math.cos(lat) * Math.sin(lon), uz: Math.sin(lat),
    sinMask: Math.sin(degreesToRadians(minElevationDeg)),
  };
}

/** Sine of the elevation of ECI point p[o..] seen from station f, Greenwich sidereal time given by its cosine and sine. */
export function sinElevation(f: StationFrame, p: Float64Array, o: number, cosG: number, sinG: number): number {
  const x = p[o]!, y = p[o + 1]!;
  const ex = x * cosG + y * sinG - f.x;
  const ey = -x * sinG + y * cosG - f.y;
  const ez = p[o + 2]! - f.z;
  return (ex * f.ux + ey * f.uy + ez * f.uz) / Math.sqrt(ex * ex + ey * ey + ez * ez);
}

/** Distance (km) from station f to ECI point p[o..]. */
export function slantRangeKm(f: StationFrame, p: Float64Array, o: number, cosG: number, sinG: number): number {
  const x = p[o]!, y = p[o + 1]!;
  const ex = x * cosG + y * sinG - f.x;
  const ey = -x * sinG + y * cosG - f.y;
  const ez = p[o + 2]! - f.z;
  return Math.sqrt(ex * ex + ey * ey + ez * ez);
}
