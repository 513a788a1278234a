// Orbital planes and the ISL pairing policy. Satellites whose inclinations agree within 2 deg and
// whose right ascensions of the ascending node (at the prediction start) agree within 3 deg fly
// in one plane; a plane's satellites are ordered by argument of latitude.
//
// Pairing policy, as laser-terminal constellations fly: each satellite points its first two
// terminals at its in-plane neighbours ahead and behind (a ring when the plane has three or
// more); its remaining terminals link to satellites of the neighbouring planes (by right
// ascension, wrapping round only when the planes span 360 deg): at each step, a cross-plane link
// is kept while it still has line of sight and range, and free terminals take the nearest
// available satellites of the neighbouring planes.
import type { Satellite } from './elements.js';

export interface PlaneLayout {
  /** Plane index of each satellite. */
  plane: Int32Array;
  /** Planes a satellite may link across to: neighbours[p] lists plane indexes. */
  neighbours: number[][];
  /** Satellite indexes of each plane. */
  members: number[][];
  /** In-plane pairs [i, j] (satellite indexes), i < j. */
  inPlane: Array<[number, number]>;
}

const DEG = Math.PI / 180;

/** Groups satellites into planes from their elements at `startMs`; `positions` holds their ECI positions then. */
export function layPlanes(sats: readonly Satellite[], startMs: number, positions: Float64Array, terminals: number): PlaneLayout {
  const raan = sats.map((s) => {
    const minutes = (startMs - s.epochMs) / 60_000;
    const r = (s.satrec.nodeo + s.satrec.nodedot * minutes) % (2 * Math.PI);
    return r < 0 ? r + 2 * Math.PI : r;
  });
  const order = sats.map((_, i) => i).sort((a, b) => sats[a]!.satrec.inclo - sats[b]!.satrec.inclo || raan[a]! - raan[b]!);
  // Shells by inclination, then planes by RAAN within a shell.
  const shells: number[][] = [];
  for (const i of order) {
    const shell = shells[shells.length - 1];
    if (shell && Math.abs(sats[i]!.satrec.inclo - sats[shell[0]!]!.satrec.inclo) <= 2 * DEG) shell.push(i);
    else shells.push([i]);
  }
  const plane = new Int32Array(sats.length);
  const neighbours: number[][] = [];
  const members: number[][] = [];
  for (const shell of shells) {
    shell.sort((a, b) => raan[a]! - raan[b]!);
    const first = members.length;
    for (let k = 0; k < shell.length; k++) {
      const i = shell[k]!;
      if (k === 0 || raan[i]! - raan[shell[k - 1]!]! > 3 * DEG) members.push([]);
      members[members.length - 1]!.push(i);
    }
    // Joining the first plane to the last one (an RAAN group split by the 0/360 wrap)
    const last = members.length - 1;
    if (last > first && raan[members[first]![0]!]! + 2 * Math.PI - raan[members[last]![members[last]!.length - 1]!]! <= 3 * DEG) {
      members[first]!.unshift(...members.pop()!);
    }
    const count = members.length - first;
    const centre = (p: number): number => raan[members[p]![0]!]!;
    const spacing = count > 1 ? (centre(members.length - 1) - centre(first)) / (count - 1) : 0;
    const wraps = count > 2 && centre(first) + 2 * Math.PI - centre(members.length - 1) <= 1.5 * spacing;
    for (let p = first; p < members.length; p++) {
      const n: number[] = [];
      if (p > first) n.push(p - 1);
      else if (wraps) n.push(members.length - 1);
      if (p < members.length - 1) n.push(p + 1);
      else if (wraps) n.push(first);
      neighbours.push(n);
    }
  }
  const inPlane: Array<[number, number]> = [];
  members.forEach((m, p) => {
    for (const i of m) plane[i] = p;
    if (terminals < 1 || m.length < 2) return;
    const u = (i: number): number => argumentOfLatitude(positions, i, sats[i]!.satrec.inclo, raan[i]!);
    const ring = [...m].sort((a, b) => u(a) - u(b));
    const pairs: Array<[number, number]> = [];
    if (terminals >= 2) {
      for (let k = 0; k < (ring.length === 2 ? 1 : ring.length); k++) pairs.push([ring[k]!, ring[(k + 1) % ring.length]!]);
    } else {
      for (let k = 0; k + 1 < ring.length; k += 2) pairs.push([ring[k]!, ring[k + 1]!]); // one terminal each
    }
    for (const [a, b] of pairs) inPlane.push(a < b ? [a, b] : [b, a]);
  });
  return { plane, neighbours, members, inPlane };
}

function argumentOfLatitude(p: Float64Array, i: number, inc: number, raan: number): number {
  const x = p[3 * i]!, y = p[3 * i + 1]!, z = p[3 * i + 2]!;
  const sinI = Math.sin(inc);
  const along = x * Math.cos(raan) + y * Math.sin(raan);
  const normal = Math.abs(sinI) < 1e-9 ? -x * Math.sin(raan) + y * Math.cos(raan) : z / sinI;
  return Math.atan2(normal, along);
}
