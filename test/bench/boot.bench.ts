// Boot of the local mission's three nodes (ground-10, sat-20, sat-21: BPSec sessions, handshake
// workers, TCPCLv4 links between them), started at once as `tern flight` processes on free ports:
// frame slips and red limits in the first seconds against the same nodes' steady state later in
// the same run (the baseline). Start-up work (store recovery, key loading, the WASM compile, the
// ML-DSA warm-up, the handshake worker's load) finishes before frame 0, so a healthy boot should
// slip no more than the steady state does. TERN_BENCH_SECONDS sets each window (default 5).
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort } from '../support/mission.js';
import { killAll, REPO, startTern, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';
import { writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 5);
const LOCAL = join(REPO, 'flight/config/missions/local');
const NODES = ['ground-10', 'sat-20', 'sat-21'];
const MISSION_PORTS: Record<string, string> = { '4610': 'ground-10', '4620': 'sat-20', '4621': 'sat-21', '4700': 'console' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The local mission's configs, moved to free ports and a scratch directory, keys owner-only. */
async function configs(dir: string): Promise<string[]> {
  const ports: Record<string, number> = {};
  for (const name of Object.values(MISSION_PORTS)) ports[name] = await freePort();
  const remap = (address: string): string => `127.0.0.1:${ports[MISSION_PORTS[address.split(':')[1]!]!]}`;
  const key = (file: string): string => {
    const copy = join(dir, file.replace(/^keys\//, ''));
    copyFileSync(join(LOCAL, file), copy);
    chmodSync(copy, 0o600);
    return copy;
  };
  return NODES.map((name) => {
    const c = JSON.parse(readFileSync(join(LOCAL, `${name}.json`), 'utf8')) as Json;
    c.dataDir = join(dir, name);
    c.tlm.summaryEveryMajorFrames = 5;
    c.cla.tcp.listen = remap(c.cla.tcp.listen);
    c.cla.udp.listen = remap(c.cla.udp.listen);
    for (const n of Object.values(c.cla.neighbours) as Json[]) n.address = remap(n.address);
    for (const o of c.cmd.operators as Json[]) o.publicKeyFile = key(o.publicKeyFile);
    c.cmd.session.identityKeyFile = key(c.cmd.session.identityKeyFile);
    for (const p of c.cmd.session.peers as Json[]) p.publicKeyFile = key(p.publicKeyFile);
    const file = join(dir, `${name}.json`);
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
