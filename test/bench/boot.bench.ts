// Boot of the local mission's three nodes (ground-10, sat-20, sat-21: BPSec sessions, handshake
// workers, TCPCLv4 links between them), started at once as `tern flight` processes on a copy of
// the mission moved to free ports (copyMissionWithFreePorts, so it runs beside `npm start`):
// frame slips and red limits in the first seconds against the same nodes' steady state later in
// the same run (the baseline). Start-up work (store recovery, key loading, the WASM compile, the
// ML-DSA warm-up, the handshake worker's load) finishes before frame 0, so a healthy boot should
// slip no more than the steady state does. TERN_BENCH_SECONDS sets each window (default 5).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { copyMissionWithFreePorts } from '../support/mission.js';
import { killAll, REPO, startTern, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';
import { ensureMissionDirCerts } from '../../gse/mission.js';
import { writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 5);
const LOCAL = join(REPO, 'flight/config/missions/local');
const NODES = ['ground-10', 'sat-20', 'sat-21'];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The local mission's configs, moved to free ports and a scratch directory, keys owner-only. */
async function configs(dir: string): Promise<string[]> {
  const mission = join(dir, 'local');
  await copyMissionWithFreePorts(LOCAL, mission);
  for (const key of readdirSync(join(mission, 'keys')).filter((n) => n.endsWith('.key'))) chmodSync(join(mission, 'keys', key), 0o600);
  ensureMissionDirCerts(mission); // the station's TLS files, as tern mission makes them
  return NODES.map((name) => {
    const file = join(mission, `${name}.json`);
    const c = JSON.parse(readFileSync(file, 'utf8')) as Json;
    c.dataDir = join(dir, name);
    c.tlm.summaryEveryMajorFrames = 5;
    // Relative to the shipped config, as key files are: the copy points at the same model.
    if (c.infer?.model) c.infer.model = resolve(LOCAL, c.infer.model as string);
    writeFileSync(file, JSON.stringify(c));
    return file;
  });
}

/** A field of the last health summary at or before `ms` after the node started. */
function healthAt(node: TernProcess, startMs: number, ms: number, field: 'slips' | 'latenessMaxUs'): number {
  let value = 0;
  for (const l of node.lines) if (l.msg === 'health' && Date.parse(l.time as string) - startMs <= ms) value = l[field] as number;
  return value;
}

it(`boot of the local mission: slips and red limits in the first ${SECONDS} s against the next ${SECONDS} s`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-boot-'));
  const files = await configs(dir);
  const spawnedMs = Date.now();
  const nodes = files.map((file) => startTern(['flight', '--config', file]));
  try {
    const started = await Promise.all(nodes.map((n) => n.waitForLine((l) => l.msg === 'node started')));
    const startMs = started.map((l) => Date.parse(l.time as string));
    const windowMs = SECONDS * 1000;
    await until(() => nodes.every((n, i) => n.lines.some((l) => l.msg === 'health' && Date.parse(l.time as string) - startMs[i]! > 2 * windowMs)), 'two windows of health summaries', 4 * windowMs + 60_000);
    const perNode = nodes.map((n, i) => {
      const boot = healthAt(n, startMs[i]!, windowMs, 'slips');
      const steady = healthAt(n, startMs[i]!, 2 * windowMs, 'slips') - boot;
      const bootLatenessMaxUs = healthAt(n, startMs[i]!, windowMs, 'latenessMaxUs');
      const red = n.lines.filter((l) => l.event === 'TLM_LIMIT_RED' && Date.parse(l.time as string) - startMs[i]! <= windowMs).map((l) => l.channel);
      return { node: NODES[i], startMs: startMs[i]! - spawnedMs, bootSlips: boot, steadySlips: steady, bootLatenessMaxUs, bootRedLimits: red };
    });
    writeResult('boot', {
      command: 'npm run bench -- test/bench/boot.bench.ts',
      windowSeconds: SECONDS,
      nodes: perNode,
      bootSlips: perNode.reduce((s, n) => s + n.bootSlips, 0),
      steadySlips: perNode.reduce((s, n) => s + n.steadySlips, 0),
      bootRedLimits: perNode.flatMap((n) => n.bootRedLimits),
      targets: { bootSlips: 'no more than steadySlips', bootRedLimits: [] },
    });
    expect(perNode).toHaveLength(3);
  } finally {
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
    killAll(nodes);
  }
});
