// The minimal config of flight/config/examples (one node, one link, no commanding) runs as it is:
// a real `tern flight` process on a copy with free ports starts, reports its health, and stops
// cleanly on SIGINT.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { copyMissionWithFreePorts } from '../support/mission.js';
import { killAll, REPO, startTern, type TernProcess } from '../support/node-process.js';

let node: TernProcess | undefined;
afterEach(() => killAll([node]));

it('examples/minimal.json runs as it is: starts, reports health, stops cleanly', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-minimal-'));
  await copyMissionWithFreePorts(join(REPO, 'flight/config/examples'), join(cwd, 'examples'));
  node = startTern(['flight', '--config', 'examples/minimal.json'], {}, cwd);
  await node.waitForLine((l) => l.msg === 'node started' && l.node === 1);
  await node.waitForLine((l) => l.msg === 'health' && l.mode === 'NOMINAL');
  node.child.kill('SIGINT');
  expect(await node.exited).toEqual({ code: 0, signal: null });
  expect(node.stderr).toEqual([]);
}, 60_000);
