// The shipped HIL scenarios, run as CI runs them: `tern hil run --spawn` starts a flight node
// child process on a socat pseudo-terminal pair, the bench talks to it through the fault proxy on
// a second pair, and the JUnit XML says what passed. A scenario with a wrong expected value makes
// the runner exit 1 and name the step, in the summary and in the JUnit failure.
// The line runs at 460,800 baud here to keep the test short; the full-size run is the same
// command at the default 115,200 (hil/README.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { benchSigners, writeBenchPublicKeys } from '../../hil/runner.js';
import { ptyPair, type PtyPair } from '../cla/serial-support.js';
import { killAll, REPO, runTern, startTern, TERN, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';

const SCENARIOS = join(REPO, 'hil', 'scenarios');
const NODE_CONFIG = join(REPO, 'hil', 'bench-node.json');

function testcases(xml: string): Array<{ name: string; failure?: string }> {
  return [...xml.matchAll(/<testcase [^>]*name="([^"]*)"[^>]*?(?:\/>|>\s*<failure message="([^"]*)")/g)].map((m) => ({ name: m[1]!, ...(m[2] === undefined ? {} : { failure: m[2] }) }));
}

const processes: TernProcess[] = [];
const pairs: PtyPair[] = [];
afterEach(async () => {
  killAll(processes.splice(0));
  for (const p of pairs.splice(0)) await p.close();
});

describe('tern hil run --spawn', () => {
  it('runs every shipped scenario over pseudo-terminals against a flight node process, all passing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-run-'));
    const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json')).map((f) => join(SCENARIOS, f));
    const junit = join(out, 'report.xml');
    const run = await runTern(['hil', 'run', ...files, '--spawn', NODE_CONFIG, '--baud', '460800', '--junit', junit, '--out', out], REPO);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const cases = testcases(readFileSync(junit, 'utf8'));
    expect(cases).toHaveLength(files.length);
    expect(cases.filter((c) => c.failure)).toEqual([]);
    expect(run.stdout).toContain(`${files.length} passed, 0 failed`);
    // The timeline holds every kind of record, in time order.
    const lines = readFileSync(join(out, 'timeline.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; tMs: number });
    for (const kind of ['command', 'response', 'event', 'housekeeping', 'bundle-out', 'bundle-in', 'contact', 'fault', 'power-cycle', 'step']) {
      expect(lines.some((l) => l.kind === kind), kind).toBe(true);
    }
    expect(lines.every((l, i) => i === 0 || l.tMs >= lines[i - 1]!.tMs)).toBe(true);
  }, 300_000);

  it('exits 1 on a wrong expected value and names the step in the summary and the JUnit XML', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-fail-'));
    const scenario = join(out, 'wrong.json');
    writeFileSync(scenario, JSON.stringify({
      name: 'a wrong expected value',
      steps: [
        { waitContact: true },
        { send: 'PING', args: [5], expect: { status: 'executed', result: { token: 6 } } },
        { send: 'PING', args: [7], expect: { status: 'executed' } },
      ],
    }));
    const junit = join(out, 'report.xml');
    const run = await runTern(['hil', 'run', scenario, '--spawn', NODE_CONFIG, '--baud', '460800', '--junit', junit, '--out', out], REPO);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toMatch(/FAIL +a wrong expected value/);
    expect(run.stdout).toContain('steps[1] (send PING)');
    expect(run.stdout).toMatch(/result \{"token":5,.*expected \{"token":6\}/);
    const [only] = testcases(readFileSync(junit, 'utf8'));
    expect(only!.failure).toContain('steps[1] (send PING)');
    expect(only!.failure).toContain('expected {&quot;token&quot;:6}');
  }, 180_000);
});

describe('tern hil run --port', () => {
  it('runs scenarios against a node already running at the other end of a line, as on a bench; a power cycle without a hook fails naming it', async () => {
    // The "OBC": a flight node started by the test on one end of a pseudo-terminal pair, its
    // config listing the bench's test operators; the bench gets only the other end's path.
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-port-'));
    const pair = await ptyPair();
    pairs.push(pair);
    const config = JSON.parse(readFileSync(NODE_CONFIG, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    config.cla.serial.device = pair.a;
    config.cla.serial.baud = 460_800;
    config.dataDir = join(out, 'obc-data');
    config.cmd.operators = writeBenchPublicKeys(join(out, 'obc-keys'), benchSigners(mlDsa('ML-DSA-65')));
    writeFileSync(join(out, 'obc.json'), JSON.stringify(config));
    const obc = startTern(['flight', '--config', join(out, 'obc.json')]);
    processes.push(obc);
    await obc.waitForLine((l) => l.msg === 'node started');

    const cycle = join(out, 'cycle.json');
    writeFileSync(cycle, JSON.stringify({ name: 'power cycle', steps: [{ waitContact: true }, { powerCycle: true }] }));
    const junit = join(out, 'report.xml');
    const run = await runTern([
      'hil', 'run', join(SCENARIOS, 'ping-and-param.json'), join(SCENARIOS, 'refused-commands.json'), cycle,
      '--port', pair.b, '--baud', '460800', '--node', '20', '--bench', '4000', '--dict', join(out, 'obc-data', 'dictionary.json'), '--junit', junit, '--out', join(out, 'bench'),
    ], REPO);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    const cases = testcases(readFileSync(junit, 'utf8'));
    expect(cases.map((c) => c.failure === undefined)).toEqual([true, true, false]);
    expect(cases[2]!.failure).toContain('steps[1] (powerCycle): powerCycle needs --power-cycle CMD');
    // The node kept running through it all.
    expect(obc.child.exitCode).toBe(null);
  }, 180_000);
});

/** The processes a run's timeline says it started (socat pairs, each node it booted). */
function startedPids(timelineFile: string): number[] {
  const lines = readFileSync(timelineFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; node?: number; socat?: number });
  return lines.filter((l) => l.kind === 'process').flatMap((l) => [l.node, l.socat]).filter((pid): pid is number => pid !== undefined);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('tern hil run, interrupted', () => {
  // The long step waits for an event no node raises, so nothing but the signal can end it (a wait
  // for the contact to drop could pass by itself on a loaded machine).
  const longScenario = (dir: string): string => {
    const file = join(dir, 'long.json');
    writeFileSync(file, JSON.stringify({ name: 'a long wait', steps: [{ waitContact: true }, { expectEvent: 'NO_SUCH_EVENT', timeoutS: 3600 }] }));
    return file;
  };
  const start = (out: string): { child: ReturnType<typeof spawn>; output: { stdout: string; stderr: string }; exited: Promise<number | null> } => {
    const child = spawn(process.execPath, [TERN, 'hil', 'run', longScenario(out), '--spawn', NODE_CONFIG, '--baud', '460800', '--junit', join(out, 'report.xml'), '--out', out], { cwd: REPO });
    const output = { stdout: '', stderr: '' };
    child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    // 'close': after the last output was read.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { child, output, exited };
  };

  it('on SIGINT fails the running step, stops its node and socat, and exits 1', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-int-'));
    const { child, output, exited } = start(out);
    // Ready: the progress line of the long step is written as the step starts, signal handlers in place.
    await until(() => output.stderr.includes('2/2 steps[1] expectEvent NO_SUCH_EVENT'), 'the run to reach its long step', 60_000);
    const pids = startedPids(join(out, 'timeline.ndjson'));
    expect(pids).toHaveLength(3);
    child.kill('SIGINT');
    expect(await exited, output.stderr).toBe(1);
    expect(output.stdout).toContain('at steps[1] (expectEvent NO_SUCH_EVENT): interrupted');
    expect(readFileSync(join(out, 'node.log'), 'utf8')).toContain('"msg":"node stopped"');
    expect(readFileSync(join(out, 'report.xml'), 'utf8')).toContain('interrupted');
    expect(pids.filter(running)).toEqual([]);
  }, 120_000);

  it('a second SIGINT while the run is closing does not cut the close short: node and socat stopped, exit 1', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-int2-'));
    const { child, output, exited } = start(out);
    await until(() => output.stderr.includes('2/2 steps[1] expectEvent NO_SUCH_EVENT'), 'the run to reach its long step', 60_000);
    const pids = startedPids(join(out, 'timeline.ndjson'));
    child.kill('SIGINT');
    // The first was taken (the step failed); the second comes as the line, proxy and node close.
    await until(() => readFileSync(join(out, 'timeline.ndjson'), 'utf8').includes('"kind":"step-failed"'), 'the step to fail on the first SIGINT', 30_000);
    child.kill('SIGINT');
    expect(await exited, output.stderr).toBe(1);
    expect(output.stdout).toContain('interrupted');
    expect(pids.filter(running)).toEqual([]);
  }, 120_000);
});
