// Ground stations for pass prediction: a JSON array of {"name", "node", "latDeg", "lonDeg",
// "altM", "minElevationDeg"}, validated whole.
import { OrbitInputError } from '../errors.js';

export interface GroundStation {
  readonly name: string;
  readonly node: number;
  readonly latDeg: number;
  readonly lonDeg: number;
  readonly altM: number;
  /** The elevation mask; a pass is the time above it. */
  readonly minElevationDeg: number;
}

export function parseStations(text: string, source: string): GroundStation[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OrbitInputError(source, '(file)', 'a JSON array of stations', (error as Error).message);
  }
  if (!Array.isArray(json)) throw new OrbitInputError(source, '(file)', 'a JSON array of stations', json);
  const nodes = new Set<number>();
  return json.map((raw: unknown, i) => {
    const where = `[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new OrbitInputError(source, where, 'a station object', raw);
    const o = raw as Record<string, unknown>;
    const num = (field: string, lo: number, hi: number): number => {
      const v = o[field];
      if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new OrbitInputError(source, `${where}.${field}`, `a number in [${lo}, ${hi}]`, v ?? 'nothing');
      return v;
    };
    if (typeof o.name !== 'string' || o.name === '') throw new OrbitInputError(source, `${where}.name`, 'a name', o.name ?? 'nothing');
    const node = o.node;
    if (typeof node !== 'number' || !Number.isSafeInteger(node) || node < 1) throw new OrbitInputError(source, `${where}.node`, 'an ipn node number', node ?? 'nothing');
    if (nodes.has(node)) throw new OrbitInputError(source, `${where}.node`, 'a node number no other station has', node);
    nodes.add(node);
    return {
      name: o.name,
      node,
      latDeg: num('latDeg', -90, 90),
      lonDeg: num('lonDeg', -180, 360),
      altM: num('altM', -500, 10_000),
      minElevationDeg: num('minElevationDeg', -5, 90),
    };
  });
}
