// Schedule tables: per mode, a major frame of N minor frames of period T, each slot listing the
// tasks it runs, and per task its overrun policy and criticality. Tables are data in the mission
// config; this module validates them against the tasks the node has (their names and budgets,
// known from the config alone, so a bad table is refused before anything is built) and turns
// them into the form the executive runs.
import { Fields, join } from '../config/fields.js';
import type { Criticality, Task } from './task.js';

export const REQUIRED_MODES = ['BOOT', 'NOMINAL', 'SAFE'] as const;

export type OverrunPolicy = 'warn' | 'skip-next' | 'shed-low';
export const OVERRUN_POLICIES: readonly OverrunPolicy[] = ['warn', 'skip-next', 'shed-low'];
export const CRITICALITIES: readonly Criticality[] = ['critical', 'normal', 'low'];

/** What the schedule needs of a task: a node's tasks before they are built, or the tasks themselves. */
export type TaskSpec = Pick<Task, 'name' | 'criticality' | 'budgetUs'>;

export interface ModeTable {
  readonly name: string;
  readonly minorFrameUs: number;
  /** slots[m] = indexes into Schedule.tasks of the tasks run in minor frame m, in order. */
  readonly slots: readonly (readonly number[])[];
}

export interface Schedule<T extends TaskSpec = Task> {
  readonly modes: ReadonlyMap<string, ModeTable>;
  readonly initialMode: string;
  /** Every task of the node, in first-use order; each is listed by at least one slot. */
  readonly tasks: readonly T[];
  readonly overrun: readonly OverrunPolicy[];
  /** Per task: the mission config's `criticality`, else the task's own. */
  readonly criticality: readonly Criticality[];
  /** Frames run back to back after a lag before yielding to I/O again. */
  readonly catchUpFrames: number;
  /** A lag of more frames than this is not caught up: the executive jumps to the current frame. */
  readonly lagLimitFrames: number;
  /** Consecutive overruns of a critical task that send the node to SAFE. */
  readonly safeAfterOverruns: number;
  /** Major frames for which low-criticality tasks are shed after a `shed-low` overrun. */
  readonly shedMajorFrames: number;
}

const EXEC_FIELDS = [
  'initialMode', 'catchUpFrames', 'lagLimitFrames', 'safeAfterOverruns', 'shedMajorFrames',
  'modes', 'tasks',
] as const;

/**
 * Validates the `exec` section of a mission config against the node's tasks.
 * Throws ConfigError naming the field for: a missing mode, a bad period, an unknown task, a
 * task no slot lists (it would never run), or slot budgets that exceed the minor frame.
 */
export function parseSchedule<T extends TaskSpec>(f: Fields, raw: unknown, field: string, available: readonly T[]): Schedule<T> {
  const exec = f.object(raw, field, EXEC_FIELDS);
  const byName = new Map(available.map((t) => [t.name, t] as const));
  const used: T[] = [];
  const indexOf = new Map<string, number>();
  const taskIndex = (name: string): number => {
    let i = indexOf.get(name);
    if (i === undefined) {
      i = used.length;
      used.push(byName.get(name)!);
      indexOf.set(name, i);
    }
    return i;
  };

  const modesField = join(field, 'modes');
  const modesRaw = f.object(exec.modes, modesField);
  for (const required of REQUIRED_MODES) {
    if (!(required in modesRaw)) f.fail(join(modesField, required), 'a mode table (BOOT, NOMINAL and SAFE are required)');
  }
  const modes = new Map<string, ModeTable>();
  for (const [name, modeRaw] of Object.entries(modesRaw)) {
    const mf = join(modesField, name);
    f.string(name, mf, /^[A-Z][A-Z0-9_]*$/);
    const mode = f.object(modeRaw, mf, ['minorFrameMs', 'slots']);
    const minorFrameUs = Math.round(f.number(mode.minorFrameMs, join(mf, 'minorFrameMs'), 0.1, 60_000) * 1000);
    const slotsField = join(mf, 'slots');
    const slotsRaw = f.array(mode.slots, slotsField);
    if (slotsRaw.length === 0 || slotsRaw.length > 1000) f.fail(slotsField, 'between 1 and 1000 minor frames', slotsRaw.length);
    const slots = slotsRaw.map((slotRaw, m) => {
      const sf = join(slotsField, m);
      let budget = 0;
      const slot = f.array(slotRaw, sf).map((taskRaw, j) => {
        const tf = join(sf, j);
        const taskName = f.string(taskRaw, tf);
        const task = byName.get(taskName);
        if (!task) f.fail(tf, `a known task (${[...byName.keys()].join(', ')})`, taskName);
        budget += task.budgetUs;
        return taskIndex(taskName);
      });
      if (new Set(slot).size !== slot.length) f.fail(sf, 'each task at most once per slot', slotRaw);
      if (budget > minorFrameUs) {
        f.fail(sf, `task budgets within the ${minorFrameUs / 1000} ms minor frame`, `${budget / 1000} ms`);
      }
      return slot;
    });
    modes.set(name, { name, minorFrameUs, slots });
  }

  const modesListing = `a slot in some mode (${REQUIRED_MODES.join(', ')}, ...) listing it: a task no slot lists never runs`;
  for (const task of available) {
    if (!indexOf.has(task.name)) f.fail(join(join(field, 'tasks'), task.name), modesListing, 'listed by no slot');
  }

  const tasksField = join(field, 'tasks');
  const settingsRaw = exec.tasks === undefined ? {} : f.object(exec.tasks, tasksField);
  const overrun = used.map(() => 'warn' as OverrunPolicy);
  const criticality = used.map((task) => task.criticality);
  for (const [name, entry] of Object.entries(settingsRaw)) {
    const tf = join(tasksField, name);
    const i = indexOf.get(name);
    if (i === undefined) f.fail(tf, `a known task (${[...byName.keys()].join(', ')})`, name);
    const settings = f.object(entry, tf, ['overrun', 'criticality']);
    if (settings.overrun !== undefined) overrun[i] = f.oneOf(settings.overrun, join(tf, 'overrun'), OVERRUN_POLICIES);
    if (settings.criticality !== undefined) criticality[i] = f.oneOf(settings.criticality, join(tf, 'criticality'), CRITICALITIES);
  }

  const initialMode = exec.initialMode === undefined ? 'BOOT'
    : f.oneOf(exec.initialMode, join(field, 'initialMode'), [...modes.keys()]);
  const int = (key: string, fallback: number, min: number, max: number): number =>
    exec[key] === undefined ? fallback : f.integer(exec[key], join(field, key), min, max);

  return {
    modes,
    initialMode,
    tasks: used,
    overrun,
    criticality,
    catchUpFrames: int('catchUpFrames', 2, 0, 100),
    lagLimitFrames: int('lagLimitFrames', 10, 1, 100_000),
    safeAfterOverruns: int('safeAfterOverruns', 3, 1, 1000),
    shedMajorFrames: int('shedMajorFrames', 1, 1, 1000),
  };
}

/**
 * The schedule read from the config with the node's built tasks in place of their specs. A
 * built task missing from the specs, or one whose budget or criticality differs, is an error of
 * composition (config/tasks.ts and the node disagree), not of the config.
 */
export function bindTasks(schedule: Schedule<TaskSpec>, built: readonly Task[]): Schedule<Task> {
  const byName = new Map(built.map((t) => [t.name, t] as const));
  const tasks = schedule.tasks.map((spec) => {
    const task = byName.get(spec.name);
    if (!task || task.budgetUs !== spec.budgetUs || task.criticality !== spec.criticality) {
      throw new Error(`task ${spec.name}: the node built ${task ? `budget ${task.budgetUs} us, ${task.criticality}` : 'no such task'}, its config declares budget ${spec.budgetUs} us, ${spec.criticality} (flight/config/tasks.ts)`);
    }
    byName.delete(spec.name);
    return task;
  });
  if (byName.size > 0) throw new Error(`tasks built but not in flight/config/tasks.ts: ${[...byName.keys()].join(', ')}`);
  return { ...schedule, tasks };
}
