import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMission } from '../../flight/config/mission.js';
import { monotonicClock, spend, VirtualClock } from '../../flight/exec/clock.js';
import { Executive, ModeError, UnknownTaskError } from '../../flight/exec/executive.js';
import { bindTasks } from '../../flight/exec/schedule.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { FakeTask, harness, modes } from '../support/exec.js';

const MS = 1000;

describe('cyclic executive', () => {
  it('runs each slot at absolute deadlines anchor + k*T, cycling the minor frames', () => {
    let a!: FakeTask;
    let b!: FakeTask;
    const h = harness({ modes: modes(10, [['t.a'], ['t.b', 't.a'], []]) }, (clock) => {
      a = new FakeTask('t.a', 'normal', 2 * MS, clock, 1500, true);
      b = new FakeTask('t.b', 'normal', 2 * MS, clock, 700, true);
      return [a, b];
    });
    expect(runVirtual(h.exec, h.clock, 95 * MS)).toBe(10);
    expect(a.runs.map((f) => f.deadlineUs)).toEqual([0, 10, 30, 40, 60, 70, 90].map((t) => t * MS));
    expect(b.runs.map((f) => f.minor)).toEqual([1, 1, 1]);
    // Work inside a frame never pushes later deadlines back: no drift.
    expect(h.exec.nextDeadlineUs()).toBe(100 * MS);
    expect(h.value('exec.frames')).toBe(10);
    expect(h.value('exec.slips')).toBe(0);
    expect(h.value('exec.latenessMaxUs')).toBe(0);
    expect(h.value('exec.task.t.a.maxUs')).toBe(1500);
    expect(h.value('exec.task.t.a.meanUs')).toBe(1500);
    expect(h.value('exec.task.t.b.runs')).toBe(3);
  });

  it('detects overruns and, under the warn policy, keeps running the task', () => {
    let t!: FakeTask;
    const h = harness({ modes: modes(10, [['t.w']]) }, (clock) => [(t = new FakeTask('t.w', 'normal', 1 * MS, clock, 500))]);
    runVirtual(h.exec, h.clock, 20 * MS);
    t.runUs = 1500;
    runVirtual(h.exec, h.clock, 50 * MS);
    expect(t.count).toBe(6);
    expect(h.value('exec.taskOverruns')).toBe(3);
    expect(h.value('exec.task.t.w.overruns')).toBe(3);
    expect(h.value('exec.task.t.w.maxUs')).toBe(1500);
    expect(h.events.filter((e) => e.name === 'EXEC_TASK_OVERRUN')).toHaveLength(3);
    expect(h.events[0]!.message).toBe('Task t.w ran 1500 us over a 1000 us budget (policy warn)');
  });

  it('skips the next run of a task whose policy is skip-next', () => {
    let t!: FakeTask;
    const h = harness({ modes: modes(10, [['t.s']]), tasks: { 't.s': { overrun: 'skip-next' } } }, (clock) => [
      (t = new FakeTask('t.s', 'normal', 1 * MS, clock, 2 * MS)),
    ]);
    runVirtual(h.exec, h.clock, 0); // overruns
    runVirtual(h.exec, h.clock, 10 * MS); // skipped
    expect(t.count).toBe(1);
    expect(h.value('exec.tasksSkipped')).toBe(1);
    t.runUs = 0;
    runVirtual(h.exec, h.clock, 30 * MS);
    expect(t.count).toBe(3);
  });

  it('sheds low-criticality tasks for the rest of the major frame and the next N after a shed-low overrun', () => {
    let heavy!: FakeTask;
    let low!: FakeTask;
    let normal!: FakeTask;
    const exec = { modes: modes(10, [['t.heavy'], ['t.low', 't.normal'], ['t.low']]), tasks: { 't.heavy': { overrun: 'shed-low' } }, shedMajorFrames: 2 };
    const h = harness(exec, (clock) => [
      (heavy = new FakeTask('t.heavy', 'normal', 1 * MS, clock, 5 * MS)),
      (low = new FakeTask('t.low', 'low', 1 * MS, clock)),
      (normal = new FakeTask('t.normal', 'normal', 1 * MS, clock)),
    ]);
    runVirtual(h.exec, h.clock, 0); // heavy overruns in major frame 0
    heavy.runUs = 0;
    runVirtual(h.exec, h.clock, 89 * MS); // major frames 0, 1, 2 (9 minor frames)
    expect(low.count).toBe(0);
    expect(normal.count).toBe(3);
    expect(h.value('exec.tasksShed')).toBe(6);
    expect(h.events.map((e) => e.name)).toContain('EXEC_SHED');
    runVirtual(h.exec, h.clock, 119 * MS); // major frame 3: shedding is over
    expect(low.count).toBe(2);
  });

  it('enters SAFE after K consecutive overruns of a critical task, not after K scattered ones', () => {
    let c!: FakeTask;
    const h = harness({ modes: modes(10, [['t.crit']]), safeAfterOverruns: 3 }, (clock) => [(c = new FakeTask('t.crit', 'critical', 1 * MS, clock))]);
    for (const runUs of [2, 2, 0, 2, 2, 0]) {
      c.runUs = runUs * MS;
      runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    }
    expect(h.exec.modeName).toBe('BOOT');
    expect(h.value('exec.taskOverruns')).toBe(4);
    c.runUs = 2 * MS;
    for (let i = 0; i < 3; i++) runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    expect(h.exec.modeName).toBe('BOOT'); // takes effect at the next minor frame
    runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    expect(h.exec.modeName).toBe('SAFE');
    const names = h.events.map((e) => e.name);
    expect(names).toContain('EXEC_SAFE_ENTRY');
    expect(h.events.find((e) => e.name === 'EXEC_MODE_CHANGED')!.message).toBe('Mode BOOT -> SAFE: t.crit overran 3 times in a row');
    expect(h.value('exec.mode')).toBe(2);
    expect(h.value('exec.modeChanges')).toBe(1);
  });

  it('EXEC_LOAD adds work to the next N runs of a task: a critical one overruns into SAFE, then runs within budget again', () => {
    let c!: FakeTask;
    const h = harness({ modes: modes(10, [['t.crit', 't.other']]), safeAfterOverruns: 3 }, (clock) => [
      (c = new FakeTask('t.crit', 'critical', 1 * MS, clock, 200)),
      new FakeTask('t.other', 'normal', 1 * MS, clock, 100),
    ]);
    runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    expect(h.value('exec.taskOverruns')).toBe(0);
    expect(() => h.exec.addLoad('t.nope', 2 * MS, 3)).toThrow(UnknownTaskError);
    expect(h.exec.addLoad('t.crit', 2 * MS, 3)).toEqual({ task: 't.crit', us: 2 * MS, runs: 3 });
    expect(h.events.find((e) => e.name === 'EXEC_LOAD_ADDED')!.args).toEqual({ task: 't.crit', us: 2 * MS, runs: 3 });
    for (let i = 0; i < 4; i++) runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    expect(h.exec.modeName).toBe('SAFE');
    // The load is timed as the task's own run: 200 us of its work plus 2 ms added.
    expect(h.value('exec.task.t.crit.maxUs')).toBe(2200);
    expect(h.value('exec.task.t.crit.overruns')).toBe(3);
    expect(h.value('exec.task.t.other.overruns')).toBe(0);
    for (let i = 0; i < 10; i++) runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
    expect(h.value('exec.task.t.crit.overruns')).toBe(3);
    expect(h.value('exec.task.t.crit.lastUs')).toBe(200);
    expect(c.count).toBe(15);
  });

  it('spend() busies a real clock for the time asked (an added load overruns on flight as on the virtual clock)', () => {
    const start = monotonicClock.nowUs();
    spend(monotonicClock, 3 * MS);
    expect(monotonicClock.nowUs() - start).toBeGreaterThanOrEqual(3 * MS);
  });

  it.each(['cmd.dispatch', 'dtn.ingest'])('sends a node on the shipped sat-20 schedule to SAFE after K overruns of %s, critical by its config', (name) => {
    const file = 'flight/config/missions/local/sat-20.json';
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { exec: { tasks: Record<string, unknown> } };
    const run = (exec: unknown): { mode: string; reason: unknown } => {
      const config = parseMission(file, { ...raw, exec });
      const clock = new VirtualClock();
      const tasks = config.exec.tasks.map((t) => new FakeTask(t.name, t.criticality, t.budgetUs, clock));
      const events = new EventLog(createRootLogger({ level: 'silent' }), () => clock.nowUs());
      let reason: unknown;
      events.onEvent((e) => { if (e.name === 'EXEC_MODE_CHANGED' && e.args.to === 'SAFE') reason = e.args.reason; });
      const exec_ = new Executive({ schedule: bindTasks(config.exec, tasks), clock, tlm: new TelemetryRegistry(), events }, 0);
      exec_.requestMode('NOMINAL', 'boot complete');
      const task = tasks.find((t) => t.name === name)!;
      task.runUs = task.budgetUs + 1;
      // Frame by frame until the task has overrun K times, then the frame where SAFE takes effect.
      while (task.count < config.exec.safeAfterOverruns) runVirtual(exec_, clock, exec_.nextDeadlineUs());
      runVirtual(exec_, clock, exec_.nextDeadlineUs());
      return { mode: exec_.modeName, reason };
    };
    expect(run(raw.exec)).toEqual({ mode: 'SAFE', reason: `${name} overran 3 times in a row` });
    // The same node without the config's criticality: the task is normal, and SAFE never comes.
    const { [name]: _, ...others } = raw.exec.tasks;
    expect(run({ ...raw.exec, tasks: others }).mode).toBe('NOMINAL');
  });

  it('counts slips and catches up a short lag a bounded number of frames at a time', () => {
    const plan = [1, 1, 1, 1, 1, 35]; // ms per run; frame 5 runs until 85 ms, then 1 ms each
    const h = harness({ modes: modes(10, [['t.x']]), catchUpFrames: 1, lagLimitFrames: 10 }, (clock) => [
      { name: 't.x', criticality: 'normal', budgetUs: 9 * MS, run: () => clock.advance((plan.shift() ?? 1) * MS) },
    ]);
    // The tick at 50 ms runs frame 5 (until 85 ms) and, catching up, frame 6: 25 ms late, a slip.
    runVirtual(h.exec, h.clock, 50 * MS);
    expect(h.clock.nowUs()).toBe(86 * MS);
    expect(h.value('exec.frames')).toBe(7);
    expect(h.value('exec.slips')).toBe(1);
    // One run plus one catch-up frame per tick: frame 7 (16 ms late, a slip), frame 8 (7 ms late,
    // within its own period: no slip).
    h.exec.tick();
    expect(h.value('exec.frames')).toBe(9);
    expect(h.value('exec.slips')).toBe(2);
    h.exec.tick(); // caught up: frame 9 is not due before 90 ms
    expect(h.value('exec.frames')).toBe(9);
    expect(h.value('exec.latenessMaxUs')).toBe(25 * MS);
    expect(h.value('exec.latenessLastUs')).toBe(7 * MS);
    expect(h.exec.nextDeadlineUs()).toBe(90 * MS);
    expect(h.events.filter((e) => e.name === 'EXEC_FRAME_SLIP').map((e) => e.args.late)).toEqual([25 * MS, 16 * MS]);
    expect(h.value('exec.frameOverruns')).toBe(1);
  });

  it('jumps to the current frame after a lag beyond the limit, counting the skipped frames as slips', () => {
    let t!: FakeTask;
    const h = harness({ modes: modes(10, [['t.x']]), lagLimitFrames: 10 }, (clock) => [(t = new FakeTask('t.x', 'normal', 9 * MS, clock))]);
    runVirtual(h.exec, h.clock, 0);
    t.runUs = 0;
    h.clock.advanceTo(153 * MS); // a 15-frame stall (say, a blocked event loop)
    h.exec.tick();
    expect(h.value('exec.jumps')).toBe(1);
    expect(h.value('exec.slips')).toBe(14);
    expect(h.value('exec.frames')).toBe(2); // frame 0, then straight to frame 15
    expect(h.exec.nextDeadlineUs()).toBe(160 * MS);
    expect(h.events.find((e) => e.name === 'EXEC_FRAME_JUMP')!.args).toEqual({ frames: 14, limit: 10 });
  });

  it('counts a task that throws and keeps running the frame', () => {
    const h = harness({ modes: modes(10, [['t.bad', 't.good']]) }, (clock) => [
      { name: 't.bad', criticality: 'normal', budgetUs: 1000, run: () => { throw new Error('boom'); } },
      new FakeTask('t.good', 'normal', 1000, clock),
    ]);
    runVirtual(h.exec, h.clock, 20 * MS);
    expect(h.value('exec.taskFailures')).toBe(3);
    expect(h.value('exec.task.t.good.runs')).toBe(3);
    expect(h.events[0]!.message).toBe('Task t.bad threw: Error: boom');
  });

  it('changes mode on request at the next minor frame, re-anchoring to the new period', () => {
    const h = harness({ modes: { ...modes(10, [[], []]), NOMINAL: { minorFrameMs: 4, slots: [[]] } } }, () => []);
    runVirtual(h.exec, h.clock, 10 * MS);
    h.exec.requestMode('NOMINAL', 'operator');
    runVirtual(h.exec, h.clock, 30 * MS);
    expect(h.exec.modeName).toBe('NOMINAL');
    // Frames at 0, 10 in BOOT, then NOMINAL anchored at 20: 20, 24, 28.
    expect(h.value('exec.frames')).toBe(5);
    expect(h.exec.nextDeadlineUs()).toBe(32 * MS);
    expect(() => h.exec.requestMode('WARP', 'x')).toThrow(ModeError);
  });

  it('is deterministic on the virtual clock over an hour of 100 Hz frames', () => {
    const run = (): { tlm: Record<string, number>; events: string[] } => {
      let n = 0;
      const h = harness({ modes: modes(10, [['t.a'], ['t.b'], ['t.a', 't.b']]), tasks: { 't.b': { overrun: 'skip-next' } } }, (clock) => [
        new FakeTask('t.a', 'critical', 2 * MS, clock, 1 * MS),
        { name: 't.b', criticality: 'low', budgetUs: 3 * MS, run: () => clock.advance((n++ % 97) * 37) },
      ]);
      runVirtual(h.exec, h.clock, 3600 * 1000 * MS);
      return { tlm: h.tlm.snapshot(), events: h.events.map((e) => `${e.timeUs} ${e.message}`) };
    };
    const first = run();
    const second = run();
    expect(first.tlm['exec.frames']).toBe(360_001);
    expect(second.tlm).toEqual(first.tlm);
    expect(second.events).toEqual(first.events);
    expect(first.tlm['exec.taskOverruns']).toBeGreaterThan(0);
  });

  it('allocates nothing per frame in steady state (heap flat over 10,000 frames)', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    const h = harness({ modes: modes(10, [['t.a'], ['t.b', 't.a'], []]), tasks: { 't.a': { overrun: 'skip-next' } } }, (clock) => [
      new FakeTask('t.a', 'critical', 2 * MS, clock, 500),
      new FakeTask('t.b', 'low', 2 * MS, clock, 100),
    ]);
    runVirtual(h.exec, h.clock, 20_000 * MS); // warm up: JIT, first-use allocations
    gc!();
    const before = process.memoryUsage().heapUsed;
    // No gc() until measured: garbage made per frame would show too, not only what is retained
    // (10,000 frames of even 16 bytes each would be 160 KB; the young generation holds it all).
    runVirtual(h.exec, h.clock, 20_000 * MS + 100_000 * MS); // 10,000 frames
    const growth = process.memoryUsage().heapUsed - before;
    expect(h.value('exec.frames')).toBe(12_001);
    expect(growth).toBeLessThan(32 * 1024);
  });
});
