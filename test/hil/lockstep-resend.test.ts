// Lockstep over a line that loses step packets: the bench resends a request it has no report for
// (same seq), and the node runs each seq once, answering a repeat of the last with the same report.
// End to end: a real node process (tern flight --lockstep) on socat pseudo-terminals, the bench
// losing one step request and, separately, one step report (a `dropLockstep` step); the frame
// counts in the node's reports prove that no step ran twice. The driver on its own: a repeat that
// arrives while its seq waits to settle is not started twice.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCKSTEP_CHANNELS } from '../../flight/exec/dictionary.js';
import { LockstepDriver } from '../../flight/exec/lockstep.js';
import { FakeTask, harness, modes } from '../support/exec.js';
import { REPO, runTern } from '../support/node-process.js';
import { until } from '../support/wait.js';

const NODE_CONFIG = join(REPO, 'hil', 'bench-node.json');

interface Line {
  kind: string;
  [field: string]: unknown;
}

describe('LockstepDriver', () => {
  function driver(): { d: LockstepDriver; value: (name: string) => number; open: () => void; settles: () => number } {
    const h = harness({ modes: modes(10, [['t']]) }, (clock) => [new FakeTask('t', 'low', 5000, clock)]);
    let gate: (() => void) | undefined;
    let waits = 0;
    // settled() resolves when the test opens it: a step can be caught waiting to run.
    const settled = (): Promise<void> => {
      waits++;
      return gate === undefined ? new Promise((r) => (gate = () => r())) : Promise.resolve();
    };
    const d = new LockstepDriver({ exec: h.exec, clock: h.clock, settled, channels: h.tlm.defineAll(LOCKSTEP_CHANNELS) });
    d.start();
    return { d, value: h.value, open: () => gate?.(), settles: () => waits };
  }

  it('runs a seq once: a repeat while it waits is dropped, a repeat after it ran gets the same report', async () => {
    const { d, value, open, settles } = driver();
    const first = d.step({ seq: 5, frames: 10 });
    await until(() => settles() === 1, 'the step waiting to settle');
    // The bench resent seq 5 while the node still waits to settle before running it.
    expect(await d.step({ seq: 5, frames: 10 })).toBeUndefined();
    open();
    const report = (await first)!;
    expect(report).toMatchObject({ seq: 5, frames: 10 });
    expect(value('exec.frames')).toBe(10);
    // Its report was lost: the resend is answered with the same report, nothing run.
    expect(await d.step({ seq: 5, frames: 10 })).toEqual(report);
    expect(value('exec.frames')).toBe(10);
    const next = (await d.step({ seq: 6, frames: 3 }))!;
    expect(next).toMatchObject({ seq: 6, frames: 13 });
    expect(next.nowUs).toBeGreaterThan(report.nowUs);
    expect({ steps: value('exec.lockstep.steps'), repeats: value('exec.lockstep.repeats'), duplicates: value('exec.lockstep.duplicates') }).toEqual({ steps: 2, repeats: 1, duplicates: 1 });
  });
});

describe('tern hil run --lockstep over a line that loses step packets', () => {
  it('resends a lost request and a request whose report was lost; the node runs each step once', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-lockstep-resend-'));
    const scenario = join(out, 'lossy-steps.json');
    writeFileSync(scenario, JSON.stringify({
      name: 'lockstep: a lost step request, a lost step report',
      steps: [
        { waitContact: true },
        { stepClock: 10 },
        { dropLockstep: { requests: 1 } },
        { stepClock: 10, name: 'its request lost once' },
        { dropLockstep: { reports: 1 } },
        { stepClock: 10, name: 'its report lost once' },
        { send: 'PING', args: [7], expect: { status: 'executed', result: { token: 7 } } },
        // A housekeeping record (every 1000 frames) shows the repeat the node answered from its last
        // report (more only if the machine held a report past the resend time).
        { stepClock: 1000 },
        { expectTelemetry: 'exec.lockstep.repeats', min: 1 },
      ],
    }));
    const run = await runTern(['hil', 'run', scenario, '--spawn', NODE_CONFIG, '--lockstep', '--baud', '460800', '--out', out], REPO);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = readFileSync(join(out, 'timeline.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.filter((l) => l.kind === 'lockstep-lost').map((l) => l.packet)).toEqual(['request', 'report']);
    const steps = lines.filter((l) => l.kind === 'clock-step') as Array<Line & { frames: number; nodeFrames: number; resends: number; seq: number }>;
    // The node's frame count after each step is the sum of the frames asked for: no step ran twice.
    let asked = 0;
    for (const s of steps) {
      asked += s.frames;
      expect(s.nodeFrames, `after step seq ${s.seq}`).toBe(asked);
    }
    expect(steps.slice(0, 3).map((s) => s.resends)).toEqual([0, 1, 1]);
    expect(lines.filter((l) => l.kind === 'step-resend').map((l) => l.seq)).toEqual([steps[1]!.seq, steps[2]!.seq]);
    const link = lines.filter((l) => l.kind === 'link').at(-1) as Line & { bench: Record<string, number> };
    expect(link.bench).toMatchObject({ 'lockstep.resends': 2, 'lockstep.requestsLost': 1, 'lockstep.reportsLost': 1 });
  }, 180_000);
});
