import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { ConfigError } from '../../flight/errors.js';
import { bindTasks, parseSchedule } from '../../flight/exec/schedule.js';
import type { Task } from '../../flight/exec/task.js';
import { modes } from '../support/exec.js';

const task = (name: string, budgetUs: number): Task => ({ name, criticality: 'normal', budgetUs, run: () => {} });
const TASKS = [task('a.one', 3000), task('b.two', 4000), task('c.three', 5000)];

function parse(exec: unknown): ReturnType<typeof parseSchedule> {
  return parseSchedule(new Fields('mission.json'), exec, 'exec', TASKS);
}

function rejection(exec: unknown): ConfigError {
  try {
    parse(exec);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('schedule was accepted');
}

describe('schedule tables', () => {
  it('accepts a valid table and keeps the tasks in first-use order, with their policies and criticality', () => {
    const s = parse({
      modes: modes(10, [['b.two', 'a.one'], ['c.three']]),
      tasks: { 'b.two': { overrun: 'skip-next' }, 'c.three': { criticality: 'critical' } },
    });
    expect(s.tasks.map((t) => t.name)).toEqual(['b.two', 'a.one', 'c.three']);
    expect(s.overrun).toEqual(['skip-next', 'warn', 'warn']);
    expect(s.criticality).toEqual(['normal', 'normal', 'critical']);
    expect(s.modes.get('NOMINAL')!.minorFrameUs).toBe(10_000);
    expect(s.modes.get('NOMINAL')!.slots).toEqual([[0, 1], [2]]);
    expect(s.initialMode).toBe('BOOT');
  });

  it('refuses a task that no slot of any mode lists, naming it', () => {
    const e = rejection({ modes: modes(10, [['b.two', 'a.one'], []]) });
    expect(e.field).toBe('exec.tasks.c.three');
    expect(e.message).toContain('a task no slot lists never runs');
  });

  it('binds the built tasks in place of their specs and refuses a mismatch', () => {
    const s = parse({ modes: modes(10, [['a.one', 'b.two'], ['c.three']]) });
    const built = [task('c.three', 5000), task('a.one', 3000), task('b.two', 4000)];
    expect(bindTasks(s, built).tasks).toEqual([built[1], built[2], built[0]]);
    expect(() => bindTasks(s, [...built, task('d.four', 1)])).toThrow(/d\.four/);
    expect(() => bindTasks(s, [task('a.one', 3000), task('b.two', 4001), task('c.three', 5000)])).toThrow(/b\.two/);
  });

  it('names an unknown task with its slot', () => {
    const e = rejection({ modes: modes(10, [[], ['a.one', 'nope']]) });
    expect(e.field).toBe('exec.modes.BOOT.slots[1][1]');
    expect(e.message).toContain('mission.json: exec.modes.BOOT.slots[1][1]: expected a known task');
    expect(e.message).toContain('"nope"');
  });

  it('rejects slot budgets that exceed the minor frame', () => {
    const e = rejection({ modes: modes(10, [['a.one', 'b.two', 'c.three']]) });
    expect(e.field).toBe('exec.modes.BOOT.slots[0]');
    expect(e.message).toContain('within the 10 ms minor frame');
    expect(e.message).toContain('12 ms');
  });

  it.each([0, -5, 'fast', 120_000])('rejects a bad period (%s)', (ms) => {
    const e = rejection({ modes: { ...modes(10, [[]]), NOMINAL: { minorFrameMs: ms, slots: [[]] } } });
    expect(e.field).toBe('exec.modes.NOMINAL.minorFrameMs');
  });

  it('requires BOOT, NOMINAL and SAFE', () => {
    const { SAFE: _, ...rest } = modes(10, [[]]);
    expect(rejection({ modes: rest }).field).toBe('exec.modes.SAFE');
  });

  it('rejects an empty major frame, unknown fields, a bad policy and a task run twice in a slot', () => {
    expect(rejection({ modes: modes(10, []) }).field).toBe('exec.modes.BOOT.slots');
    expect(rejection({ modes: modes(10, [[]]), tempo: 3 }).field).toBe('exec.tempo');
    const all = [['a.one'], ['b.two'], ['c.three']];
    expect(rejection({ modes: modes(10, all), tasks: { 'a.one': { overrun: 'panic' } } }).field).toBe('exec.tasks.a.one.overrun');
    expect(rejection({ modes: modes(10, all), tasks: { 'a.one': { criticality: 'vital' } } }).field).toBe('exec.tasks.a.one.criticality');
    expect(rejection({ modes: modes(10, all), tasks: { 'z.z': { overrun: 'warn' } } }).field).toBe('exec.tasks.z.z');
    expect(rejection({ modes: modes(10, [['a.one', 'a.one']]) }).field).toBe('exec.modes.BOOT.slots[0]');
    expect(rejection({ modes: modes(10, all), initialMode: 'WARP' }).field).toBe('exec.initialMode');
  });
});
