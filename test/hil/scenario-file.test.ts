// Scenario files: what the parser takes, and that every mistake names the step and the field,
// from the parser and from `tern hil run` (exit 2, before any line is opened or node started).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { junitXml } from '../../hil/report.js';
import { parseScenario, ScenarioError, substitute } from '../../hil/scenario.js';
import { REPO, runTern } from '../support/node-process.js';

function refusal(raw: unknown): ScenarioError {
  try {
    parseScenario(raw, 'x.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('accepted');
}

const ok = (steps: unknown[]): unknown => ({ name: 's', steps });

describe('scenario files', () => {
  it('parses every kind of step, with defaults, and expands nothing until run', () => {
    const s = parseScenario(ok([
      { waitContact: true }, { waitContact: 'down', timeoutS: 5 },
      { send: 'PING', args: [1], save: 'a', expect: { status: 'executed', result: { token: 1 } } },
      { send: 'PING', replay: 'a', as: 'bob', approvers: ['alice'] },
      { expectEvent: 'CMD_EXECUTED', args: { command: 'PING' } }, { expectTelemetry: 'cmd.executed', min: 1 },
      { expectBundle: { createdBeforePowerCycle: true } }, { echo: { count: 3 } },
      { linkFault: { ber: 1e-4, burst: '50/20000', drop: 0.01, delayMs: 5 } }, { bitFlip: { target: 'parameters', bits: 1 } },
      { powerCycle: {} }, { checkStore: { max: 0 } }, { repeat: 2, steps: [{ send: 'NOOP' }] },
    ]), 'x.json');
    expect(s.steps.map((x) => x.kind)).toEqual(['waitContact', 'waitContact', 'send', 'send', 'expectEvent', 'expectTelemetry', 'expectBundle', 'echo', 'linkFault', 'bitFlip', 'powerCycle', 'checkStore', 'repeat']);
    expect(s.steps[0]).toMatchObject({ path: 'steps[0]', timeoutS: 30, up: true });
    expect(s.steps[2]).toMatchObject({ kind: 'send', as: 'alice', tamper: 'none', approvers: [] });
    expect(s.steps[7]).toMatchObject({ count: 3, bytes: 1000 });
    expect(s.steps[8]).toMatchObject({ burst: { length: 50, period: 20000 } });
    expect(s.steps[12]).toMatchObject({ times: 2, steps: [{ path: 'steps[12].steps[0]' }] });
    expect(parseScenario(ok([{ stepClock: 1000 }]), 'x.json').steps[0]).toMatchObject({ kind: 'stepClock', frames: 1000 });
    expect(refusal(ok([{ stepClock: 0 }])).field).toBe('steps[0].stepClock');
    expect(refusal(ok([{ stepClock: 1.5 }])).field).toBe('steps[0].stepClock');
    expect(parseScenario(ok([{ dropLockstep: { reports: 2 } }]), 'x.json').steps[0]).toMatchObject({ kind: 'dropLockstep', requests: 0, reports: 2 });
    expect(refusal(ok([{ dropLockstep: {} }])).field).toBe('steps[0].dropLockstep');
    expect(refusal(ok([{ dropLockstep: { requests: 0.5 } }])).field).toBe('steps[0].dropLockstep.requests');
    expect(refusal(ok([{ dropLockstep: { packets: 1 } }])).field).toBe('steps[0].dropLockstep.packets');
    expect(parseScenario(ok([{ hold: 10 }]), 'x.json').steps[0]).toMatchObject({ kind: 'hold', seconds: 10, timeoutS: 30 });
    expect(refusal(ok([{ hold: 0 }])).field).toBe('steps[0].hold');
    // A hold longer than its step's timeout could never pass.
    expect(refusal(ok([{ hold: 40 }])).field).toBe('steps[0].timeoutS');
    expect(parseScenario(ok([{ hold: 40, timeoutS: 50 }]), 'x.json').steps[0]).toMatchObject({ seconds: 40 });
  });

  it('names the step and the field of every mistake', () => {
    expect(refusal({ steps: [{ powerCycle: true }] }).message).toBe('x.json: name: expected a non-empty string, got nothing');
    expect(refusal(ok([])).field).toBe('steps');
    expect(refusal(ok([{ waitContact: true }, { sned: 'PING' }])).field).toBe('steps[1]');
    expect(refusal(ok([{ send: 'PING', expct: {} }])).field).toBe('steps[0].expct');
    expect(refusal(ok([{ send: 'PING', expect: { status: 'done' } }])).field).toBe('steps[0].expect.status');
    expect(refusal(ok([{ send: 'PING', tamper: 'all' }])).field).toBe('steps[0].tamper');
    expect(refusal(ok([{ send: 'PING', timeoutS: -1 }])).field).toBe('steps[0].timeoutS');
    expect(refusal(ok([{ linkFault: { ber: 2 } }])).field).toBe('steps[0].linkFault.ber');
    expect(refusal(ok([{ linkFault: { burst: '50' } }])).field).toBe('steps[0].linkFault.burst');
    expect(refusal(ok([{ expectTelemetry: 'cmd.executed' }])).field).toBe('steps[0]');
    expect(refusal(ok([{ repeat: 2, steps: [{ send: 'PING' }, { checkStore: { min: 'one' } }] }])).field).toBe('steps[0].steps[1].checkStore.min');
    expect(refusal(ok([{ send: 'PING', powerCycle: true }])).field).toBe('steps[0]');
    expect(refusal(ok([{ waitContact: 'sideways' }])).message).toContain('steps[0].waitContact: expected true, "up" or "down"');
  });

  it('substitutes variables, keeping a whole placeholder\'s type', () => {
    expect(substitute({ a: '${n}', b: 'x${n}y', c: ['${s}'], d: '${missing}' }, { n: 3, s: 'z' })).toEqual({ a: 3, b: 'x3y', c: ['z'], d: '${missing}' });
  });

  it('writes JUnit XML with one testcase per scenario and escaped failures', () => {
    const xml = junitXml([
      { name: 'a', file: 'a.json', seconds: 1, steps: 2 },
      { name: 'b <&>', file: 'b.json', seconds: 2, steps: 1, failure: { step: 'steps[0] (send PING)', message: 'status "rejected"' } },
    ]);
    expect(xml).toContain('<testsuite name="tern-hil" tests="2" failures="1"');
    expect(xml).toContain('<testcase classname="tern-hil" name="a" file="a.json" time="1.000"/>');
    expect(xml).toContain('name="b &lt;&amp;&gt;"');
    expect(xml).toContain('<failure message="steps[0] (send PING): status &quot;rejected&quot;"');
  });

  it('tern hil run exits 2 naming the file, step and field, before it opens a line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-hil-bad-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(ok([{ waitContact: true }, { send: 'PING', expect: { status: 'executed', reason: 7 } }])));
    const run = await runTern(['hil', 'run', file, '--spawn', join(REPO, 'hil', 'bench-node.json'), '--out', join(dir, 'out')], REPO);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: steps[1].expect.reason: expected a non-empty string, got 7`);
    const notJson = join(dir, 'broken.json');
    writeFileSync(notJson, '{ "name": ');
    const broken = await runTern(['hil', 'run', notJson, '--spawn', 'x.json'], REPO);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${notJson}: (file): expected a readable JSON file`);
    const neither = await runTern(['hil', 'run', file], REPO);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--port: expected one of --port DEVICE and --spawn CONFIG');
  }, 60_000);
});
