// Scenario files of the HIL bench: JSON (a format every engineer's tools read and diff, no parser
// to pin), one object with a name, variables and steps. Each step is an object with exactly one
// kind key (send, expectEvent, expectTelemetry, expectBundle, echo, linkFault, bitFlip,
// powerCycle, waitContact, checkStore, hold, stepClock, dropLockstep, repeat) and optional `name` and `timeoutS`. Every mistake is a
// ScenarioError naming the file, the step (steps[2] or steps[1].steps[0]) and the field.
import { readFileSync } from 'node:fs';
import { TernError } from '../flight/errors.js';

export class ScenarioError extends TernError {
  readonly code = 'HIL_BAD_SCENARIO';
  constructor(readonly file: string, readonly field: string, readonly expected: string, readonly got: unknown) {
    super(`${file}: ${field}: expected ${expected}, got ${JSON.stringify(got) ?? 'nothing'}`);
    this.name = 'ScenarioError';
  }
}

/** What a command's response must show; `result` is matched as a subset. */
export interface ResponseExpectation {
  readonly status?: string;
  readonly reason?: string;
  readonly result?: unknown;
}

interface StepBase {
  /** steps[i] (or steps[i].steps[j] inside a repeat): what reports and errors call the step. */
  readonly path: string;
  readonly name: string;
  readonly timeoutS: number;
}

export type Step = StepBase & (
  | { kind: 'send'; command: string; args: unknown; as: string; approvers: string[]; tamper: 'none' | 'signature'; replay?: string; save?: string; expect?: ResponseExpectation }
  | { kind: 'expectEvent'; event: string; args: Record<string, unknown> }
  | { kind: 'expectTelemetry'; channel: string; min: number; max: number }
  | { kind: 'linkFault'; ber: number; burst?: { length: number; period: number }; drop: number; delayMs: number }
  | { kind: 'bitFlip'; args: Record<string, unknown>; expect?: ResponseExpectation }
  | { kind: 'powerCycle' }
  | { kind: 'waitContact'; up: boolean }
  | { kind: 'echo'; count: number; bytes: number }
  | { kind: 'expectBundle'; destination?: string; createdBeforePowerCycle: boolean }
  | { kind: 'checkStore'; min: number; max: number; destination?: string }
  | { kind: 'stepClock'; frames: number }
  | { kind: 'dropLockstep'; requests: number; reports: number }
  | { kind: 'hold'; seconds: number }
  | { kind: 'repeat'; times: number; steps: Step[] }
);

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly vars: Record<string, unknown>;
  readonly steps: Step[];
}

const KINDS = ['send', 'expectEvent', 'expectTelemetry', 'expectBundle', 'echo', 'linkFault', 'bitFlip', 'powerCycle', 'waitContact', 'checkStore', 'stepClock', 'dropLockstep', 'hold', 'repeat'] as const;
/** Fields each kind takes besides its kind key, name and timeoutS. */
const FIELDS: Record<(typeof KINDS)[number], readonly string[]> = {
  send: ['args', 'as', 'approvers', 'tamper', 'replay', 'save', 'expect'],
  expectEvent: ['args'],
  expectTelemetry: ['min', 'max'],
  expectBundle: [],
  echo: [],
  linkFault: [],
  bitFlip: ['expect'],
  powerCycle: [],
  waitContact: [],
  checkStore: ['min', 'max', 'destination'],
  stepClock: [],
  dropLockstep: [],
  hold: [],
  repeat: ['steps'],
};
const DEFAULT_TIMEOUT_S = 30;

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ScenarioError(file, '(file)', 'a readable JSON file', (error as Error).message);
  }
  return parseScenario(raw, file);
}

export function parseScenario(raw: unknown, file: string): Scenario {
  const p = new Parser(file);
  const o = p.object(raw, '(top)', ['name', 'vars', 'steps']);
  const name = p.string(o.name, 'name');
  const vars = o.vars === undefined ? {} : p.object(o.vars, 'vars');
  const steps = p.steps(o.steps, 'steps');
  return { file, name, vars, steps };
}

class Parser {
  constructor(private readonly file: string) {}

  fail(field: string, expected: string, got: unknown): never {
    throw new ScenarioError(this.file, field, expected, got);
  }

  object(value: unknown, field: string, allowed?: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'an object', value);
    const o = value as Record<string, unknown>;
    const unknown = allowed && Object.keys(o).find((k) => !allowed.includes(k));
    if (unknown) this.fail(`${field === '(top)' ? '' : `${field}.`}${unknown}`, `one of ${allowed.join(', ')}`, 'an unknown field');
    return o;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') this.fail(field, 'a non-empty string', value);
    return value;
  }

  number(value: unknown, field: string, min: number, max: number, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !(value >= min && value <= max)) this.fail(field, `a number from ${min} to ${max}`, value);
    return value;
  }

  /** A count from 0 to 100, 0 when absent. */
  whole(value: unknown, field: string): number {
    if (value !== undefined && !Number.isInteger(value)) this.fail(field, 'a whole number from 0 to 100', value);
    return this.number(value, field, 0, 100, 0);
  }

  steps(value: unknown, field: string): Step[] {
    if (!Array.isArray(value) || value.length === 0) this.fail(field, 'a non-empty array of steps', value);
    return value.map((s, i) => this.step(s, `${field}[${i}]`));
  }

  step(value: unknown, path: string): Step {
    const o = this.object(value, path);
    const kinds = KINDS.filter((k) => k in o);
    if (kinds.length !== 1) this.fail(path, `exactly one of ${KINDS.join(', ')}`, Object.keys(o));
    const kind = kinds[0]!;
    this.object(o, path, [kind, 'name', 'timeoutS', ...FIELDS[kind]]);
    const base = {
      path,
      name: o.name === undefined ? `${kind}${typeof o[kind] === 'string' ? ` ${o[kind] as string}` : ''}` : this.string(o.name, `${path}.name`),
      timeoutS: this.number(o.timeoutS, `${path}.timeoutS`, 0.1, 86_400, DEFAULT_TIMEOUT_S),
    };
    const at = (f: string): string => `${path}.${f}`;
    switch (kind) {
      case 'send': {
        const approvers = o.approvers === undefined ? [] : o.approvers;
        if (!Array.isArray(approvers) || approvers.some((a) => typeof a !== 'string')) this.fail(at('approvers'), 'an array of bench operator names', approvers);
        const tamper = o.tamper ?? 'none';
        if (tamper !== 'none' && tamper !== 'signature') this.fail(at('tamper'), '"none" or "signature"', tamper);
        if (o.args !== undefined && (typeof o.args !== 'object' || o.args === null)) this.fail(at('args'), 'an array (positional) or an object (by name)', o.args);
        return {
          ...base, kind, command: this.string(o.send, at('send')), args: o.args ?? [], as: o.as === undefined ? 'alice' : this.string(o.as, at('as')),
          approvers: approvers as string[], tamper,
          ...(o.replay === undefined ? {} : { replay: this.string(o.replay, at('replay')) }),
          ...(o.save === undefined ? {} : { save: this.string(o.save, at('save')) }),
          ...(o.expect === undefined ? {} : { expect: this.expectation(o.expect, at('expect')) }),
        };
      }
      case 'expectEvent':
        return { ...base, kind, event: this.string(o.expectEvent, at('expectEvent')), args: o.args === undefined ? {} : this.object(o.args, at('args')) };
      case 'expectTelemetry': {
        if (o.min === undefined && o.max === undefined) this.fail(path, 'min, max or both', 'neither');
        return {
          ...base, kind, channel: this.string(o.expectTelemetry, at('expectTelemetry')),
          min: this.number(o.min, at('min'), -Infinity, Infinity, -Infinity), max: this.number(o.max, at('max'), -Infinity, Infinity, Infinity),
        };
      }
      case 'linkFault': {
        const f = this.object(o.linkFault, at('linkFault'), ['ber', 'burst', 'drop', 'delayMs']);
        let burst: { length: number; period: number } | undefined;
        if (f.burst !== undefined) {
          const m = typeof f.burst === 'string' ? /^(\d+)\/(\d+)$/.exec(f.burst) : null;
          if (!m || Number(m[1]) < 1 || Number(m[1]) >= Number(m[2])) this.fail(at('linkFault.burst'), 'LEN/PERIOD in bytes, LEN < PERIOD ("50/20000")', f.burst);
          burst = { length: Number(m[1]), period: Number(m[2]) };
        }
        return {
          ...base, kind, ber: this.number(f.ber, at('linkFault.ber'), 0, 0.5, 0), drop: this.number(f.drop, at('linkFault.drop'), 0, 1, 0),
          delayMs: this.number(f.delayMs, at('linkFault.delayMs'), 0, 600_000, 0),
          ...(burst ? { burst } : {}),
        };
      }
      case 'bitFlip':
        return { ...base, kind, args: this.object(o.bitFlip, at('bitFlip')), ...(o.expect === undefined ? {} : { expect: this.expectation(o.expect, at('expect')) }) };
      case 'waitContact':
        if (o.waitContact !== true && o.waitContact !== 'up' && o.waitContact !== 'down') this.fail(at(kind), 'true, "up" or "down"', o.waitContact);
        return { ...base, kind, up: o.waitContact !== 'down' };
      case 'echo': {
        const e = this.object(o.echo, at('echo'), ['count', 'bytes']);
        return { ...base, kind, count: this.number(e.count, at('echo.count'), 1, 100_000), bytes: this.number(e.bytes, at('echo.bytes'), 1, 65_536, 1000) };
      }
      case 'expectBundle': {
        const e = this.object(o.expectBundle, at('expectBundle'), ['destination', 'createdBeforePowerCycle']);
        if (e.createdBeforePowerCycle !== undefined && typeof e.createdBeforePowerCycle !== 'boolean') this.fail(at('expectBundle.createdBeforePowerCycle'), 'true or false', e.createdBeforePowerCycle);
        return {
          ...base, kind, createdBeforePowerCycle: e.createdBeforePowerCycle === true,
          ...(e.destination === undefined ? {} : { destination: this.string(e.destination, at('expectBundle.destination')) }),
        };
      }
      case 'powerCycle':
        if (o[kind] !== true && (typeof o[kind] !== 'object' || o[kind] === null || Object.keys(o[kind]).length > 0)) this.fail(at(kind), 'true or {}', o[kind]);
        return { ...base, kind };
      case 'checkStore': {
        const c = this.object(o.checkStore, at('checkStore'), ['min', 'max', 'destination']);
        return {
          ...base, kind, min: this.number(c.min, at('checkStore.min'), 0, 1e9, 0), max: this.number(c.max, at('checkStore.max'), 0, 1e9, 1e9),
          ...(c.destination === undefined ? {} : { destination: this.string(c.destination, at('checkStore.destination')) }),
        };
      }
      case 'stepClock':
        if (!Number.isInteger(o.stepClock)) this.fail(at('stepClock'), 'a whole number of minor frames from 1 to 1000000', o.stepClock);
        return { ...base, kind, frames: this.number(o.stepClock, at('stepClock'), 1, 1_000_000) };
      case 'dropLockstep': {
        const d = this.object(o.dropLockstep, at('dropLockstep'), ['requests', 'reports']);
        const requests = this.whole(d.requests, at('dropLockstep.requests'));
        const reports = this.whole(d.reports, at('dropLockstep.reports'));
        if (requests + reports === 0) this.fail(at('dropLockstep'), 'requests, reports or both above 0', o.dropLockstep);
        return { ...base, kind, requests, reports };
      }
      case 'hold': {
        // Bench time the node is left to itself (a cut line shows the bench nothing to wait for).
        const seconds = this.number(o.hold, at('hold'), 0.1, 3600);
        if (seconds >= base.timeoutS) this.fail(at('timeoutS'), `more seconds than the hold's ${seconds}`, base.timeoutS);
        return { ...base, kind, seconds };
      }
      case 'repeat':
        return { ...base, kind, times: this.number(o.repeat, at('repeat'), 1, 100_000), steps: this.steps(o.steps, at('steps')) };
    }
  }

  expectation(value: unknown, field: string): ResponseExpectation {
    const e = this.object(value, field, ['status', 'reason', 'result']);
    const statuses = ['accepted', 'pending', 'rejected', 'executed', 'failed'];
    if (e.status !== undefined && !statuses.includes(e.status as string)) this.fail(`${field}.status`, `one of ${statuses.join(', ')}`, e.status);
    return {
      ...(e.status === undefined ? {} : { status: e.status as string }),
      ...(e.reason === undefined ? {} : { reason: this.string(e.reason, `${field}.reason`) }),
      ...(e.result === undefined ? {} : { result: e.result }),
    };
  }
}

/** Replaces "${name}" in strings: a whole-string placeholder takes the variable's value and type. */
export function substitute(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{(\w+)\}$/.exec(value);
    if (whole && whole[1]! in vars) return vars[whole[1]!];
    return value.replace(/\$\{(\w+)\}/g, (text, name: string) => (name in vars ? String(vars[name]) : text));
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}
