// Orbital elements for prediction: two-line element sets (with or without a name line) and CCSDS
// OMM as public catalogues publish it in JSON (CelesTrak's GP data), both through satellite.js's
// SGP4. A satellite's ipn node number is its NORAD catalogue number unless a mapping says otherwise.
import { json2satrec, twoline2satrec, type OMMJsonObject, type SatRec } from 'satellite.js';
import { OrbitInputError } from '../errors.js';

export interface Satellite {
  readonly name: string;
  readonly norad: number;
  readonly node: number;
  readonly satrec: SatRec;
  /** Unix ms of the element set's epoch. */
  readonly epochMs: number;
}

/** Julian date of the Unix epoch. */
const JD_UNIX = 2440587.5;

function epochOf(satrec: SatRec): number {
  return (satrec.jdsatepoch - JD_UNIX) * 86_400_000;
}

function tleChecksum(line: string): number {
  let sum = 0;
  for (const ch of line.slice(0, 68)) {
    if (ch >= '0' && ch <= '9') sum += ch.charCodeAt(0) - 48;
    else if (ch === '-') sum += 1;
  }
  return sum % 10;
}

function finish(source: string, where: string, name: string, satrec: SatRec, nodes?: ReadonlyMap<number, number>): Satellite {
  const norad = Number(satrec.satnum);
  const fields = [satrec.no, satrec.ecco, satrec.inclo, satrec.nodeo, satrec.argpo, satrec.mo];
  if (!fields.every(Number.isFinite) || !(satrec.no > 0) || satrec.error !== 0 || !(satrec.ecco >= 0 && satrec.ecco < 1)) {
    throw new OrbitInputError(source, where, 'elements SGP4 can propagate (mean motion > 0, 0 <= eccentricity < 1)', name);
  }
  return { name, norad, node: nodes?.get(norad) ?? norad, satrec, epochMs: epochOf(satrec) };
}

/** Parses a TLE file: pairs of lines 1 and 2, each optionally after a name line ("0 NAME" or "NAME"). */
export function parseTle(text: string, source: string, nodes?: ReadonlyMap<number, number>): Satellite[] {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd());
  const out: Satellite[] = [];
  let name: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (!line.startsWith('1 ')) {
      if (line.startsWith('2 ')) throw new OrbitInputError(source, `line ${i + 1}`, 'line 1 of a TLE before its line 2', line);
      name = line.replace(/^0 /, '').trim();
      continue;
    }
    const l2 = lines[i + 1] ?? '';
    for (const [n, l, digit] of [[i + 1, line, '1'], [i + 2, l2, '2']] as const) {
      if (l.length < 69 || l[0] !== digit) throw new OrbitInputError(source, `line ${n}`, `TLE line ${digit} of 69 characters`, l);
      if (tleChecksum(l) !== Number(l[68])) throw new OrbitInputError(source, `line ${n}`, `checksum ${tleChecksum(l)}`, l[68]);
    }
    if (line.slice(2, 7) !== l2.slice(2, 7)) throw new OrbitInputError(source, `line ${i + 2}`, `the catalogue number of line 1 (${line.slice(2, 7)})`, l2.slice(2, 7));
    const satrec = twoline2satrec(line, l2);
    out.push(finish(source, `line ${i + 1}`, name ?? line.slice(2, 7).trim(), satrec, nodes));
    name = undefined;
    i++;
  }
  if (out.length === 0) throw new OrbitInputError(source, '(file)', 'at least one two-line element set');
  return out;
}

const OMM_REQUIRED = ['OBJECT_NAME', 'NORAD_CAT_ID', 'EPOCH', 'MEAN_MOTION', 'ECCENTRICITY', 'INCLINATION', 'RA_OF_ASC_NODE', 'ARG_OF_PERICENTER', 'MEAN_ANOMALY', 'BSTAR'] as const;

/** Parses CCSDS OMM in JSON: one object or an array of them, fields as CelesTrak publishes them. */
export function parseOmm(text: string, source: string, nodes?: ReadonlyMap<number, number>): Satellite[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OrbitInputError(source, '(file)', 'OMM as JSON', (error as Error).message);
  }
  const list = Array.isArray(json) ? json : [json];
  if (list.length === 0) throw new OrbitInputError(source, '(file)', 'at least one OMM');
  return list.map((raw: unknown, i) => {
    const where = `[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new OrbitInputError(source, where, 'an OMM object', raw);
    const o = raw as Record<string, unknown>;
    for (const field of OMM_REQUIRED) {
      const v = o[field];
      const ok = field === 'OBJECT_NAME' || field === 'EPOCH'
        ? typeof v === 'string' && v !== ''
        : (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) && Number.isFinite(Number(v));
      if (!ok) throw new OrbitInputError(source, `${where}.${field}`, field === 'EPOCH' ? 'an ISO time' : field === 'OBJECT_NAME' ? 'a name' : 'a number', v ?? 'nothing');
    }
    if (Number.isNaN(Date.parse(`${String(o.EPOCH).replace(/Z?$/, '')}Z`))) throw new OrbitInputError(source, `${where}.EPOCH`, 'an ISO time', o.EPOCH);
    if (o.EPHEMERIS_TYPE !== undefined && Number(o.EPHEMERIS_TYPE) !== 0) throw new OrbitInputError(source, `${where}.EPHEMERIS_TYPE`, '0 (SGP4)', o.EPHEMERIS_TYPE);
    const omm = { ELEMENT_SET_NO: 999, MEAN_MOTION_DOT: 0, MEAN_MOTION_DDOT: 0, OBJECT_ID: '', ...o } as OMMJsonObject;
    let satrec: SatRec;
    try {
      satrec = json2satrec(omm);
    } catch (error) {
      throw new OrbitInputError(source, where, 'an OMM satellite.js accepts', (error as Error).message);
    }
    return finish(source, where, String(o.OBJECT_NAME), satrec, nodes);
  });
}
