// `npm start` runs `tern mission`: the local mission of flight/config/missions/local, as a real
// process tree. It must come up (three nodes and the console), bring housekeeping from every
// satellite down to the console, execute a command signed with the mission's demo operator key
// as the README shows, and stop cleanly on Ctrl-C.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { REPO, startTern, TERN, type TernProcess } from '../support/node-process.js';

let mission: TernProcess | undefined;
afterEach(() => {
  if (mission && mission.child.exitCode === null) mission.child.kill('SIGKILL');
});

it('runs the local mission that npm start starts, and stops it cleanly on SIGINT', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-mission-')); // its var/ goes here
  mission = startTern(['mission', '--dir', join(REPO, 'flight/config/missions/local')], {}, cwd);
  for (const node of [10, 20, 21]) {
    await mission.waitForLine((l) => l.msg === 'node started' && l.node === node, 30_000);
  }
  // The console prints downlinked housekeeping of each node, relayed through the station.
  for (const node of [10, 20, 21]) {
    await mission.waitForLine((l) => l.kind === 'hk' && l.node === node, 30_000);
  }
  // The README's operator step (git keeps no file modes: the key is made owner-only first).
  const key = join(cwd, 'demo-operator.key');
  copyFileSync(join(REPO, 'flight/config/missions/local/keys/demo-operator.key'), key);
  chmodSync(key, 0o600);
  await promisify(execFile)(process.execPath, [TERN, 'gse', 'send', '20', 'PING', '42', '--key', key, '--via', '127.0.0.1:4610'], { cwd: REPO });
  const response = await mission.waitForLine((l) => l.kind === 'rsp' && l.status === 'executed', 30_000);
  expect(response).toMatchObject({ node: 20, command: 'PING', result: { token: 42 } });

  mission.child.kill('SIGINT');
  expect(await mission.exited).toEqual({ code: 0, signal: null });
  expect(mission.lines.filter((l) => l.msg === 'node stopped')).toHaveLength(3);
  expect(mission.stderr.filter((l) => l.includes('exited with'))).toEqual([]);
}, 90_000);

it('refuses a mission directory without a valid mission.json, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-mission-'));
  const run = (d: string) => promisify(execFile)(process.execPath, [TERN, 'mission', '--dir', d]).catch((e: { code: number; stderr: string }) => e);
  const missing = (await run(dir)) as { code: number; stderr: string };
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain(`${join(dir, 'mission.json')}: (file): expected a readable mission file`);
});
