// ML-DSA-65 verifications per second for each backend, side by side. The baseline is noble in
// the same run and runtime. On Node 20, node:crypto has no ML-DSA: the same benchmark then also
// runs in a Node 24 child (installed on demand, see test/cmd/support/node24.ts), which measures
// both backends there, and its figures are reported beside this runtime's.
// Second, the dispatcher under a flood of 1,000 invalid signed commands per second on the real
// frame timer at 100 Hz, against a baseline run without the flood: the acceptance is no frame
// slip (results/cmd-flood.json).
// TERN_BENCH_SECONDS sets each measurement's length (default 2).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { NobleMlDsa, NodeMlDsa, nodeHasMlDsa, type MlDsa } from '../../flight/cmd/mldsa.js';
import { runFrames } from '../cmd/support/flood.js';
import { testOperator } from '../cmd/support/harness.js';
import { node24 } from '../cmd/support/node24.js';
import { REPO } from '../support/node-process.js';
import { writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 2);
/** In the Node 24 child: where to write this runtime's figures for the parent. */
const CHILD_OUT = process.env.TERN_MLDSA_BENCH_OUT;
const KEYS = 8;

interface Figures {
  node: string;
  openssl: string;
  verifyPerSecond: Record<string, number>;
  /** node:crypto over noble, measured in the same runtime. */
  nodeOverNoble?: number;
}

function verifyRate(dsa: MlDsa): number {
  // Commands are short: a ~100-byte envelope body, signed under a spacecraft context.
  const context = new TextEncoder().encode('tern-cmd-v1:7');
  const signer = new NobleMlDsa('ML-DSA-65');
  const cases = Array.from({ length: KEYS }, (_, i) => {
    const seed = createHash('sha256').update(`bench ${i}`).digest();
    const message = createHash('sha512').update(`message ${i}`).digest().subarray(0, 100);
    return { publicKey: signer.publicKey(seed), message, signature: signer.sign(seed, message, context) };
  });
  for (const c of cases) expect(dsa.verify(c.publicKey, c.message, c.signature, context)).toBe(true);
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let n = 0;
  while (performance.now() < end) {
    const c = cases[n % KEYS]!;
    if (!dsa.verify(c.publicKey, c.message, c.signature, context)) throw new Error('verification failed');
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

function measure(): Figures {
  const verifyPerSecond: Record<string, number> = { noble: verifyRate(new NobleMlDsa('ML-DSA-65')) };
  if (nodeHasMlDsa()) verifyPerSecond.node = verifyRate(new NodeMlDsa('ML-DSA-65'));
  return {
    node: process.version,
    openssl: process.versions.openssl,
    verifyPerSecond,
    ...(verifyPerSecond.node === undefined ? {} : { nodeOverNoble: verifyPerSecond.node / verifyPerSecond.noble! }),
  };
}

function measureOnNode24(): Figures | { skipped: string } {
  const node = node24();
  if (!node.ok) return { skipped: node.reason };
  const dir = mkdtempSync(join(tmpdir(), 'tern-mldsa-bench-'));
  try {
    const out = join(dir, 'figures.json');
    const child = spawnSync(node.path, [`${REPO}node_modules/vitest/vitest.mjs`, 'run', '--config', 'test/bench/vitest.config.ts', 'test/bench/mldsa.bench.ts', '-t', 'verify/s'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, TERN_MLDSA_BENCH_OUT: out },
      timeout: 600_000,
    });
    if (child.status !== 0) throw new Error(`Node 24 benchmark child failed: ${child.stderr}${child.stdout}`);
    return JSON.parse(readFileSync(out, 'utf8')) as Figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it(`ML-DSA-65 verify/s per backend, ${SECONDS} s each`, () => {
  const here = measure();
  if (CHILD_OUT) {
    writeFileSync(CHILD_OUT, JSON.stringify(here));
    return;
  }
  const node24Figures = nodeHasMlDsa() ? undefined : measureOnNode24();
  if (node24Figures && 'skipped' in node24Figures) console.warn(`node:crypto backend not measured: ${node24Figures.skipped}`);
  writeResult('mldsa', {
    command: 'npm run bench -- test/bench/mldsa.bench.ts',
    seconds: SECONDS,
    parameterSet: 'ML-DSA-65',
    messageBytes: 100,
    baseline: 'noble verify/s in the same runtime and run',
    thisRuntime: here,
    ...(node24Figures === undefined ? {} : { node24: node24Figures }),
  });
  expect(here.verifyPerSecond.noble).toBeGreaterThan(0);
});

it.skipIf(CHILD_OUT !== undefined)(`dispatcher under 1,000 forgeries/s at 100 Hz, ${SECONDS} s, against a baseline without them`, async () => {
  const signer = testOperator(1, ['operate']);
  // A baseline that itself slips means the machine is too busy to judge: up to three tries.
  let baseline: Record<string, number> = {};
  let flooded: Record<string, number> = {};
  let tries = 0;
  const quiet = (): boolean => baseline['exec.slips'] === 0;
  while (tries < 3 && !quiet()) {
    tries++;
    baseline = await runFrames(signer, 0, SECONDS);
    flooded = await runFrames(signer, 1000, SECONDS);
  }
  writeResult('cmd-flood', {
    command: 'npm run bench -- test/bench/mldsa.bench.ts',
    seconds: SECONDS,
    minorFrameMs: 10,
    floodPerSecond: 1000,
    tries,
    judged: quiet(),
    baseline,
    flooded,
    latenessP99Ratio: flooded['exec.latenessP99Us']! / Math.max(1, baseline['exec.latenessP99Us']!),
    targets: { slips: 0 },
  });
  if (!quiet()) {
    console.warn(`NOT JUDGED: the executive slipped without any flood in ${tries} tries (machine busy)`);
    return;
  }
  expect(flooded['exec.slips']).toBe(0);
  expect(flooded['cmd.executed']).toBe(0);
});
