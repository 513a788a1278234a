// `tern mission` as a person runs it: in a terminal (a real pseudo-terminal from util-linux
// `script`), the live view shows every node of the mission and the console's answer to a PING,
// while each process's whole NDJSON stream goes to its log file under the mission's data
// directory; Ctrl-C typed at the terminal stops it all cleanly. Not in a terminal: plain lines,
// no escape codes. A copy of the local mission runs on free ports, beside any `npm start`.
import { execFile, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyMissionWithFreePorts } from '../support/mission.js';
import { REPO, TERN } from '../support/node-process.js';
import { eventually } from '../support/wait.js';

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const NAMES = ['ground-10', 'sat-20', 'sat-21'];

let running: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  if (running && running.exitCode === null) running.kill('SIGKILL');
});

beforeAll(() => {
  expect(spawnSync('script', ['--version']).status, 'util-linux script(1) is needed for the pseudo-terminal').toBe(0);
});

interface Started {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], cwd: string): Started {
  const child = spawn(command, args, { cwd });
  running = child;
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function missionCopy(): Promise<{ cwd: string; station: string; key: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-view-'));
  const dir = join(cwd, 'local');
  await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  const station = (JSON.parse(readFileSync(join(dir, 'ground-10.json'), 'utf8')) as { cla: { tcp: { listen: string } } }).cla.tcp.listen;
  return { cwd, station, key: join(dir, 'keys/demo-operator.key') };
}

describe('tern mission live view', () => {
  it('in a terminal shows every node and the PING response; full logs go to files; Ctrl-C stops it', async () => {
    const { cwd, station, key } = await missionCopy();
    // -e: script exits with the mission's code; the terminal is 160 columns so no cell is cut.
    const mission = start('script', ['-qfec', `stty cols 160 rows 40; exec "${process.execPath}" "${TERN}" mission --dir local`, '/dev/null'], cwd);
    // The latest picture: what follows the last cursor-home.
    const screen = (): string => (mission.output().split('\x1b[H').at(-1) ?? '').replace(ESCAPES, '');
    const row = (name: string): string | undefined => screen().split('\n').find((l) => l.includes(` ${name} `));
    await eventually(() => NAMES.every((n) => / NOMINAL +ok /.test(row(n) ?? '')) || undefined, `every node NOMINAL and ok in the view: ${screen()}`, 90_000);
    expect(mission.output()).toMatch(/\x1b\[H/); // redrawn in place, not scrolled

    await promisify(execFile)(process.execPath, [TERN, 'gse', 'send', '20', 'PING', '42', '--key', key, '--via', station], { cwd: REPO });
    const answered = await eventually(() => {
      const s = screen();
      return /RSP node 20 PING executed .*"token":42/.test(s) ? s : undefined;
    }, 'the PING response in the view', 60_000);
    expect(answered).toMatch(/console \(responses\):/);
    const logDir = join(cwd, 'var/mission/logs');
    expect(answered).toContain(`full logs: ${logDir}/`);
    expect(row('sat-20')).toMatch(/ 10,21 /); // its links up: the station and sat-21

    mission.child.stdin.write('\x03'); // Ctrl-C at the terminal: SIGINT to the launcher
    expect(await mission.exited).toBe(0);
    expect(NAMES.every((n) => / stopped /.test(row(n) ?? ''))).toBe(true);
    // Every process's stream, whole, one JSON value per line.
    expect(readdirSync(logDir).sort()).toEqual(['console.ndjson', 'ground-10.ndjson', 'sat-20.ndjson', 'sat-21.ndjson']);
    const sat20 = readFileSync(join(logDir, 'sat-20.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(sat20.some((l) => l.msg === 'health')).toBe(true);
    expect(sat20.at(-1)).toMatchObject({ msg: 'node stopped' });
    const consoleLog = readFileSync(join(logDir, 'console.ndjson'), 'utf8');
    expect(consoleLog).toMatch(/"kind":"rsp".*"command":"PING"/);
  }, 240_000);

  it('not in a terminal prints plain lines, no escape codes', async () => {
    const { cwd } = await missionCopy();
    const mission = start(process.execPath, [TERN, 'mission', '--dir', 'local'], cwd);
    await eventually(() => NAMES.every((n) => mission.output().includes(`${n} started`)) || undefined, 'each node started, as a line', 90_000);
    mission.child.kill('SIGINT');
    expect(await mission.exited).toBe(0);
    const text = mission.output();
    expect(text).not.toMatch(/\x1b/);
    expect(text).toMatch(/^tern mission: full logs in .*\/var\/mission\/logs\/$/m);
    // The table at the end, one row per node.
    for (const n of NAMES) expect(text).toMatch(new RegExp(`^\\d+ +${n} +- +stopped `, 'm'));
  }, 180_000);
});
