// `npm run build:core`: builds each WASM target of asconfig.json (release, scalar, debug) only
// when its inputs changed. The inputs are the AssemblyScript sources (flight/core/assembly/**),
// asconfig.json and the compiler's version; their SHA-256 is kept beside each output
// (dist/core/.<target>.inputs). A hash, not mtimes: a checkout or a copy changes mtimes without
// changing sources, and an interrupted build leaves no stamp, so it is redone.
//   node flight/core/build-wasm.mjs [--force]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ENTRY = 'flight/core/assembly/index.ts';
const force = process.argv.includes('--force');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

const config = JSON.parse(readFileSync('asconfig.json', 'utf8'));
const compiler = JSON.parse(readFileSync('node_modules/assemblyscript/package.json', 'utf8')).version;
const inputs = createHash('sha256');
inputs.update(`assemblyscript ${compiler}\n`).update(readFileSync('asconfig.json'));
for (const file of files('flight/core/assembly')) inputs.update(`\n${file}\n`).update(readFileSync(file));
const digest = inputs.digest('hex');

let built = 0;
for (const [target, options] of Object.entries(config.targets)) {
  const stamp = join(dirname(options.outFile), `.${target}.inputs`);
  const fresh = existsSync(options.outFile) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest;
  if (fresh && !force) continue;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', ENTRY, '--config', 'asconfig.json', '--target', target], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`build:core: asc --target ${target} failed (${run.status ?? run.signal})`);
    process.exit(run.status ?? 1);
  }
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${digest}\n`);
  console.log(`build:core: ${target} -> ${options.outFile} (${statSync(options.outFile).size} bytes, ${Date.now() - started} ms)`);
  built++;
}
if (built === 0) console.log(`build:core: WASM core up to date (inputs ${digest.slice(0, 12)})`);
