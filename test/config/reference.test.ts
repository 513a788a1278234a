// The mission config's reference and JSON Schema (made from flight/config/reference.ts) against
// the readers that validate configs (flight/config/mission.ts and each subsystem's): the committed
// REFERENCE.md and mission.schema.json are up to date; every shipped config passes the reader and
// the schema (ajv); and, field by field from a full config, the two agree: an unknown field is
// refused by both at every described object, an out-of-range or wrong-typed value by both at
// every described number, and a documented default is the value the reader applies.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { missionReference, missionSchema } from '../../flight/config/generate.js';
import { loadMission, parseMission } from '../../flight/config/mission.js';
import { MISSION_CONFIG, type Field } from '../../flight/config/reference.js';
import { TernError } from '../../flight/errors.js';
import { ensureMissionDirCerts } from '../../gse/mission.js';
import { REPO } from '../support/node-process.js';

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(missionSchema());
const CONFIG_DIR = join(REPO, 'flight/config');

/** Every node config shipped: each mission's (not mission.json itself) and the examples. */
function shippedConfigs(): string[] {
  const missions = readdirSync(join(CONFIG_DIR, 'missions')).flatMap((m) =>
    readdirSync(join(CONFIG_DIR, 'missions', m)).filter((f) => /^(ground|sat)-\d+\.json$/.test(f)).map((f) => join(CONFIG_DIR, 'missions', m, f)));
  const examples = readdirSync(join(CONFIG_DIR, 'examples')).filter((f) => f.endsWith('.json')).map((f) => join(CONFIG_DIR, 'examples', f));
  return [...missions, ...examples];
}

/** The reader's verdict on a config held in memory as if it were `file` (relative paths from there). */
function readerAccepts(file: string, raw: unknown): true | string {
  try {
    parseMission(file, raw);
    return true;
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    return error.message;
  }
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function at(obj: Record<string, unknown>, path: readonly string[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function set(obj: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const copy = clone(obj);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = value;
  return copy;
}

/** The described objects and fields present in `config`, with their paths. */
function described(field: Field, config: unknown, path: string[] = [], out: Array<{ path: string[]; field: Field }> = []): Array<{ path: string[]; field: Field }> {
  out.push({ path, field });
  if (field.type === 'object' && config && typeof config === 'object') {
    for (const [k, f] of Object.entries(field.fields)) described(f, (config as Record<string, unknown>)[k], [...path, k], out);
  }
  if (field.type === 'map' && config && typeof config === 'object') {
    for (const [k, v] of Object.entries(config)) described(field.value, v, [...path, k], out);
  }
  return out;
}

// sat-20 of the local mission: commanding, BPSec sessions, a downlink, TCP and UDP, ecc, every
// task; with LTP and a serial line added; and a constellation satellite, which routes by a plan.
const FULL_FILE = join(CONFIG_DIR, 'missions/local/sat-20.json');
const FULL = JSON.parse(readFileSync(FULL_FILE, 'utf8')) as Record<string, unknown>;
const WITH_LINKS = {
  ...FULL,
  cla: { ...(FULL.cla as object), ltp: { listen: '127.0.0.1:0', segmentBytes: 1400 }, serial: { device: '/dev/ttyTERN0', baud: 9600, interleave: 2 } },
};
const PLAN_FILE = join(CONFIG_DIR, 'missions/constellation/sat-20.json');
const BASES: Array<[string, Record<string, unknown>]> = [
  [FULL_FILE, FULL],
  [FULL_FILE, WITH_LINKS],
  [PLAN_FILE, JSON.parse(readFileSync(PLAN_FILE, 'utf8')) as Record<string, unknown>],
];

describe('mission config reference and JSON Schema', () => {
  // A station's cla.tcp.tls names certificates tern mission makes on first start (git ignores them).
  beforeAll(() => {
    for (const m of readdirSync(join(CONFIG_DIR, 'missions'))) ensureMissionDirCerts(join(CONFIG_DIR, 'missions', m));
  });

  it('REFERENCE.md and mission.schema.json are the generator\'s output (tern config reference|schema --out ...)', () => {
    expect(readFileSync(join(CONFIG_DIR, 'REFERENCE.md'), 'utf8')).toBe(missionReference());
    expect(readFileSync(join(CONFIG_DIR, 'mission.schema.json'), 'utf8')).toBe(`${JSON.stringify(missionSchema(), null, 2)}\n`);
  });

  it('the reference names the fields people had to find in the source', () => {
    const text = missionReference();
    for (const needle of ['`cla.udp.maxDatagramBytes`', '`cla.tcp.segmentMru`', '`cla.tcp.transferMru`', '`tlm.downlink.lifetimeS`', 'CRC-32C', 'nobody registered', 'UDPCL has no acknowledgements']) {
      expect(text).toContain(needle);
    }
  });

  it('every shipped config passes the reader and the schema, and names the schema', () => {
    const files = shippedConfigs();
    expect(files.length).toBeGreaterThanOrEqual(4);
    // A constellation's plan epoch comes from its launcher.
    process.env.TERN_MISSION_EPOCH_MS ??= String(Date.now());
    for (const file of files) {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(() => loadMission(file), file).not.toThrow();
      expect(validate(raw), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(raw.$schema, file).toMatch(/mission\.schema\.json$/);
    }
    // The reader takes "$schema" (editors need it) but only as a string.
    expect(readerAccepts(FULL_FILE, { ...FULL, $schema: 5 })).toMatch(/\$schema: expected a non-empty string/);
  });

  it('field by field, the reader and the schema agree', () => {
    process.env.TERN_MISSION_EPOCH_MS ??= String(Date.now());
    let objects = 0;
    let numbers = 0;
    let defaults = 0;
    for (const [FULL_FILE, FULL] of BASES) {
    expect(readerAccepts(FULL_FILE, FULL)).toBe(true);
    expect(validate(FULL), JSON.stringify(validate.errors)).toBe(true);
    const parsed = parseMission(FULL_FILE, FULL) as unknown as Record<string, unknown>;
    for (const { path, field } of described(MISSION_CONFIG, FULL)) {
      const name = path.join('.') || '(top)';
      const value = at(FULL, path);
      if (field.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
        const typo = [...path, 'noSuchField'];
        const bad = set(FULL, path.length ? path : [], path.length ? { ...(value as object), noSuchField: 1 } : undefined);
        const raw = path.length ? bad : { ...FULL, noSuchField: 1 };
        expect(readerAccepts(FULL_FILE, raw), `${typo.join('.')}: the reader`).toMatch(/noSuchField/);
        expect(validate(raw), `${typo.join('.')}: the schema`).toBe(false);
        objects++;
        // Each documented field of it that is absent here: the reader takes its default, and
        // where the parsed config mirrors the path, that default is the documented one.
        for (const [k, f] of Object.entries(field.fields)) {
          if ((value as Record<string, unknown>)[k] !== undefined || (f.type !== 'integer' && f.type !== 'number') || typeof f.default !== 'number') continue;
          const applied = at(parsed, [...path, k]);
          if (typeof applied !== 'number') continue;
          expect(applied, `${name}.${k} default`).toBe(f.default);
          const explicit = set(FULL, [...path, k], f.default);
          expect(readerAccepts(FULL_FILE, explicit), `${name}.${k} = its default`).toBe(true);
          expect(validate(explicit), `${name}.${k} = its default: the schema`).toBe(true);
          defaults++;
        }
      }
      if ((field.type === 'integer' || field.type === 'number') && typeof value === 'number') {
        const wrong: unknown[] = ['7', ...(field.min === undefined ? [] : [field.min - 1]), ...(field.max === undefined ? [] : [field.max + 1])];
        for (const w of wrong) {
          const raw = set(FULL, path, w);
          expect(readerAccepts(FULL_FILE, raw), `${name} = ${JSON.stringify(w)}: the reader`).not.toBe(true);
          expect(validate(raw), `${name} = ${JSON.stringify(w)}: the schema`).toBe(false);
        }
        numbers++;
      }
    }
    }
    // The full config exercises most of the description: say how much, so a shrinking test shows.
    expect(objects).toBeGreaterThanOrEqual(70); // 75 when written
    expect(numbers).toBeGreaterThanOrEqual(50); // 55
    expect(defaults).toBeGreaterThanOrEqual(90); // 98
  });
});
