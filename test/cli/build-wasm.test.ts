// `npm run build:core` (flight/core/build-wasm.mjs) rebuilds a WASM target only when its inputs
// changed: run in a copy of the core's sources with one target (the quickest, debug), it builds,
// then leaves the output alone, then builds again after a source changed.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/node-process.js';

function buildCore(cwd: string): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [join(REPO, 'flight/core/build-wasm.mjs')], { cwd, encoding: 'utf8', timeout: 240_000 });
  return { status: run.status, out: run.stdout + run.stderr };
}

describe('build:core', () => {
  it('builds a target whose inputs changed, and only then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-build-core-'));
    cpSync(join(REPO, 'flight/core/assembly'), join(dir, 'flight/core/assembly'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const config = JSON.parse(readFileSync(join(REPO, 'asconfig.json'), 'utf8')) as { targets: Record<string, unknown> };
    writeFileSync(join(dir, 'asconfig.json'), JSON.stringify({ ...config, targets: { debug: config.targets.debug } }));
    const wasm = join(dir, 'dist/core/tern.debug.wasm');

    const first = buildCore(dir);
    expect(first.status, first.out).toBe(0);
    expect(first.out).toMatch(/build:core: debug -> dist\/core\/tern.debug.wasm/);
    const built = statSync(wasm).mtimeMs;

    const again = buildCore(dir);
    expect(again.status, again.out).toBe(0);
    expect(again.out).toMatch(/WASM core up to date/);
    expect(statSync(wasm).mtimeMs).toBe(built);

    appendFileSync(join(dir, 'flight/core/assembly/crc.ts'), '\n// changed\n');
    const changed = buildCore(dir);
    expect(changed.status, changed.out).toBe(0);
    expect(changed.out).toMatch(/build:core: debug -> /);
    expect(statSync(wasm).mtimeMs).toBeGreaterThan(built);
  }, 300_000);
});
