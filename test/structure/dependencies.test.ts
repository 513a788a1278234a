// The dependency direction of the whole tree (../shared/DESIGN.md, "The parts" and "How data
// flows"), read from every import in flight/, gse/ and hil/ (TypeScript's own import scanner, so
// `import type`, `export ... from` and `import()` count too):
// - flight imports nothing from gse or hil;
// - inside flight, a module imports only from its own unit or from units on lower layers;
// - a subsystem that hides its parts behind an interface is reached through it alone (exec
//   through its task interface, the convergence layers through cla.ts), except by a
//   composition root, which builds the parts;
// - the WASM core is loaded only by flight/core/instance.ts and reached from outside flight/core
//   only through its entry module, so no raw export or address leaves the folder.
// Every failure names the offending import as "file -> target: rule".
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/node-process.js';

interface Unit {
  name: string;
  /** Files (ending .ts) or folders (ending /) of the unit; the longest match wins. */
  paths: readonly string[];
  /** When set, the only modules of the unit other flight units may import (the composition
   *  root excepted: it builds every part). */
  entries?: readonly string[];
}

/**
 * Layers of flight, lowest first. A unit imports from its own unit or from lower layers; units on
 * one layer are independent of each other. Data enters at the links (cla), becomes bundles (dtn,
 * kept durable by dtn/store, routed by route) and reaches the local services (cmd); tlm and the
 * executive's task interface serve every layer, the WASM core every subsystem that codes bytes.
 */
const LAYERS: ReadonlyArray<readonly Unit[]> = [
  [{ name: 'base', paths: ['flight/errors.ts', 'flight/log.ts', 'flight/durable.ts', 'flight/cli-args.ts', 'flight/config/fields.ts'] }],
  [{ name: 'exec task interface', paths: ['flight/exec/task.ts', 'flight/exec/clock.ts'] }],
  [{ name: 'tlm', paths: ['flight/tlm/'] }],
  [
    { name: 'core', paths: ['flight/core/'] },
    { name: 'exec', paths: ['flight/exec/'], entries: [] },
  ],
  // Protected memory serves the subsystems above it: their parameters, keys, plan and weights.
  [{ name: 'ecc', paths: ['flight/ecc/'] }],
  [
    { name: 'cla', paths: ['flight/cla/'], entries: ['flight/cla/cla.ts', 'flight/cla/errors.ts'] },
    { name: 'route', paths: ['flight/route/'] },
  ],
  [{ name: 'dtn/store', paths: ['flight/dtn/store/'] }],
  [{ name: 'dtn', paths: ['flight/dtn/'] }],
  [{ name: 'cmd', paths: ['flight/cmd/'] }],
  // Declares its commands to cmd's registry, as a service on top of commanding.
  [{ name: 'infer', paths: ['flight/infer/'] }],
  // What builds the parts: a node (app.ts, from its config), and an SEU campaign (protected
  // memory under the scrubber on an executive of its own, on the virtual clock).
  [{ name: 'composition root', paths: ['flight/config/', 'flight/app.ts', 'flight/lockstep-node.ts', 'flight/main.ts', 'flight/ecc/campaign.ts', 'flight/ecc/campaign-outputs.ts'] }],
];
const COMPOSITION_ROOT = 'composition root';

/** The WASM core: the one module that loads it, and the modules the rest of the tree may import. */
const CORE = {
  folder: 'flight/core/',
  loader: 'flight/core/instance.ts',
  entries: ['flight/core/wasm.ts', 'flight/core/errors.ts', 'flight/core/dictionary.ts', 'flight/core/fec-cli.ts'],
  loaderPackages: ['@assemblyscript/loader'],
};

const SCANNED = ['flight', 'gse', 'hil'];
const SKIPPED = ['flight/core/assembly/']; // AssemblyScript, compiled to WASM: no TS imports

export interface Import {
  /** Repository-relative path of the importing file. */
  from: string;
  /** Repository-relative path of the imported module, or the package name. */
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.includes(`${path}/`) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every import of the scanned folders, relative specifiers resolved to the .ts source. */
function scanImports(): Import[] {
  return SCANNED.flatMap(sourceFiles).flatMap((from) => {
    const text = readFileSync(join(REPO, from), 'utf8');
    return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName }) => {
      if (!fileName.startsWith('.')) return { from, to: fileName };
      const resolved = relative(REPO, join(REPO, dirname(from), fileName)).split('\\').join('/');
      return { from, to: resolved.replace(/\.js$/, '.ts') };
    });
  });
}

function unitOf(path: string): { unit: Unit; layer: number } | undefined {
  let best: { unit: Unit; layer: number; length: number } | undefined;
  LAYERS.forEach((units, layer) => {
    for (const unit of units) {
      for (const p of unit.paths) {
        const matches = p.endsWith('/') ? path.startsWith(p) : path === p;
        if (matches && (!best || p.length > best.length)) best = { unit, layer, length: p.length };
      }
    }
  });
  return best && { unit: best.unit, layer: best.layer };
}

const isRelative = (to: string): boolean => to.startsWith('flight/') || to.startsWith('gse/') || to.startsWith('hil/') || to.startsWith('test/');

/** The imports that break a rule, as "file -> target: rule". */
export function violations(imports: readonly Import[]): string[] {
  const found: string[] = [];
  const report = ({ from, to }: Import, rule: string): void => {
    found.push(`${from} -> ${to}: ${rule}`);
  };
  for (const i of imports) {
    const { from, to } = i;
    if (!isRelative(to)) {
      if (CORE.loaderPackages.includes(to) && from !== CORE.loader) report(i, `only ${CORE.loader} loads the WASM core`);
      continue;
    }
    if (from.startsWith('flight/') && !to.startsWith('flight/')) {
      report(i, `flight imports nothing from ${to.split('/')[0]}`);
      continue;
    }
    if (to.startsWith(CORE.folder) && !from.startsWith(CORE.folder) && !CORE.entries.includes(to)) {
      report(i, `the WASM core is reached through ${CORE.entries.join(', ')}`);
    }
    if (!from.startsWith('flight/')) continue;
    const source = unitOf(from);
    const target = unitOf(to);
    if (!source) {
      report(i, `${from} is in no unit of LAYERS: add its folder on the layer it belongs to`);
      continue;
    }
    if (!target) {
      report(i, `${to} is in no unit of LAYERS: add its folder on the layer it belongs to`);
      continue;
    }
    if (source.unit === target.unit) continue;
    if (target.layer > source.layer) {
      report(i, `${source.unit.name} may not import ${target.unit.name}, which sits above it`);
    } else if (target.layer === source.layer) {
      report(i, `${source.unit.name} and ${target.unit.name} are independent (same layer)`);
    } else if (target.unit.entries && source.unit.name !== COMPOSITION_ROOT && !target.unit.entries.includes(to)) {
      const allowed = target.unit.entries.length > 0 ? `only through ${target.unit.entries.join(', ')}` : 'by the composition root only';
      report(i, `${target.unit.name} internals are reached ${allowed}`);
    }
  }
  return found;
}

describe('dependency direction of the tree', () => {
  const imports = scanImports();

  it('reads the imports of every module in flight/, gse/ and hil/', () => {
    const files = new Set(imports.map((i) => i.from));
    // A scan that silently read nothing would pass every rule.
    expect(files.size).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'flight/app.ts' && i.to === 'flight/core/wasm.ts')).toBe(true);
    expect(imports.some((i) => i.from === 'flight/core/instance.ts' && i.to === '@assemblyscript/loader')).toBe(true);
  });

  it('has no import against the direction', () => {
    expect(violations(imports)).toEqual([]);
  });

  it('names each kind of offending import (the rules can fail)', () => {
    expect(violations([
      { from: 'flight/dtn/agent.ts', to: 'gse/tlm.ts' },
      { from: 'flight/tlm/downlink.ts', to: 'flight/cmd/downlink.ts' },
      { from: 'flight/dtn/agent.ts', to: 'flight/cla/tcpcl-wire.ts' },
      { from: 'flight/cmd/dispatcher.ts', to: 'flight/exec/executive.ts' },
      { from: 'flight/cla/udp.ts', to: 'flight/route/router.ts' },
      { from: 'flight/dtn/codec.ts', to: 'flight/core/rs.ts' },
      { from: 'gse/tern.ts', to: 'flight/core/instance.ts' },
      { from: 'flight/dtn/codec.ts', to: '@assemblyscript/loader' },
      { from: 'flight/orbit/sgp4.ts', to: 'flight/errors.ts' },
    ])).toEqual([
      'flight/dtn/agent.ts -> gse/tlm.ts: flight imports nothing from gse',
      'flight/tlm/downlink.ts -> flight/cmd/downlink.ts: tlm may not import cmd, which sits above it',
      'flight/dtn/agent.ts -> flight/cla/tcpcl-wire.ts: cla internals are reached only through flight/cla/cla.ts, flight/cla/errors.ts',
      'flight/cmd/dispatcher.ts -> flight/exec/executive.ts: exec internals are reached by the composition root only',
      'flight/cla/udp.ts -> flight/route/router.ts: cla and route are independent (same layer)',
      `flight/dtn/codec.ts -> flight/core/rs.ts: the WASM core is reached through ${CORE.entries.join(', ')}`,
      `gse/tern.ts -> flight/core/instance.ts: the WASM core is reached through ${CORE.entries.join(', ')}`,
      'flight/dtn/codec.ts -> @assemblyscript/loader: only flight/core/instance.ts loads the WASM core',
      'flight/orbit/sgp4.ts -> flight/errors.ts: flight/orbit/sgp4.ts is in no unit of LAYERS: add its folder on the layer it belongs to',
    ]);
    // What the design allows: the task interface, cla's interface, the core's entry, the
    // composition root building exec.
    expect(violations([
      { from: 'flight/cmd/dispatcher.ts', to: 'flight/exec/task.ts' },
      { from: 'flight/dtn/agent.ts', to: 'flight/cla/cla.ts' },
      { from: 'flight/dtn/store/format.ts', to: 'flight/core/wasm.ts' },
      { from: 'flight/app.ts', to: 'flight/exec/executive.ts' },
      { from: 'gse/tern.ts', to: 'flight/cmd/envelope.ts' },
    ])).toEqual([]);
  });
});
