// Stored sequences: signed upload, validation against the dictionary, absolute and relative time
// tags on the wall clock, skip of a passed absolute time, stop on failure, persistence.
import { describe, expect, it } from 'vitest';
import { encodeSequence } from '../../flight/cmd/sequence.js';
import { envelope, harness, OPCODES, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);

type Step = { timing: 'abs' | 'rel'; timeMs: number; opcode: number; args: unknown[] };
const ping = (token: number, timing: 'abs' | 'rel', timeMs: number): Step => ({ timing, timeMs, opcode: OPCODES.PING!, args: [token] });

function sequenceResponses(h: ReturnType<typeof harness>): Array<{ step?: number; status: string; token?: unknown }> {
  return h.responses
    .filter((r) => r.source === 'sequence')
    .map((r) => ({ step: r.step, status: r.status, ...(r.result ? { token: r.result.token } : {}) }));
}

describe('stored sequences', () => {
  it('runs relative and absolute steps at their times', () => {
    const h = harness({ operators: [A, B] });
    const steps = [ping(1, 'rel', 0), ping(2, 'rel', 1000), ping(3, 'abs', T0_MS + 5000), ping(4, 'rel', 500)];
    const upload = h.send(envelope({ command: 'SEQ_UPLOAD', args: [0, encodeSequence('stop', steps)], seq: 1, signers: [A] }));
    expect(upload[1]).toMatchObject({ status: 'executed', result: { slot: 0, steps: 4 } });
    expect(h.send(envelope({ command: 'SEQ_START', args: [0], seq: 2, signers: [A] }))[1]!.status).toBe('executed');
    h.run(700, 10); // 7 s of 10 ms slots
    expect(sequenceResponses(h)).toEqual([
      { step: 0, status: 'executed', token: 1 },
      { step: 1, status: 'executed', token: 2 },
      { step: 2, status: 'executed', token: 3 },
      { step: 3, status: 'executed', token: 4 },
    ]);
    const ranAt = h.responses.filter((r) => r.source === 'sequence').map((r) => r.timeMs - T0_MS);
    // Slots are 10 ms apart; relative steps count from the previous step, absolute from T0.
    expect(ranAt[1]! - ranAt[0]!).toBeGreaterThanOrEqual(1000);
    expect(ranAt[1]! - ranAt[0]!).toBeLessThanOrEqual(1010);
    expect(ranAt[2]).toBeGreaterThanOrEqual(5000);
    expect(ranAt[2]).toBeLessThanOrEqual(5010);
    expect(ranAt[3]! - ranAt[2]!).toBeGreaterThanOrEqual(500);
    expect(ranAt[3]! - ranAt[2]!).toBeLessThanOrEqual(510);
    expect(h.value('cmd.seq.executed')).toBe(4);
    expect(h.value('cmd.seq.running')).toBe(0);
    expect(h.events.find((e) => e.name === 'CMD_SEQ_DONE')?.args.outcome).toBe('completed');
  });

  it('skips and reports an absolute step whose time has passed', () => {
    const h = harness({ operators: [A, B] });
    const steps = [ping(1, 'abs', T0_MS - 60_000), ping(2, 'rel', 0)];
    h.send(envelope({ command: 'SEQ_UPLOAD', args: [1, encodeSequence('stop', steps)], seq: 1, signers: [A] }));
    h.send(envelope({ command: 'SEQ_START', args: [1], seq: 2, signers: [A] }));
    h.run(3);
    expect(sequenceResponses(h)).toEqual([{ step: 1, status: 'executed', token: 2 }]);
    expect(h.value('cmd.seq.skipped')).toBe(1);
    expect(h.events.find((e) => e.name === 'CMD_SEQ_SKIPPED')?.args).toMatchObject({ slot: 1, step: 0, command: 'PING' });
  });

  it('stops at a failed step, or continues when the sequence says so', () => {
    const failing = { timing: 'rel' as const, timeMs: 0, opcode: OPCODES.GET_PARAM!, args: ['no.such.param'] };
    for (const [onFailure, expected] of [['stop', 1], ['continue', 2]] as const) {
      const h = harness({ operators: [A, B] });
      h.send(envelope({ command: 'SEQ_UPLOAD', args: [0, encodeSequence(onFailure, [failing, ping(9, 'rel', 0)])], seq: 1, signers: [A] }));
      h.send(envelope({ command: 'SEQ_START', args: [0], seq: 2, signers: [A] }));
      h.run(3);
      expect(sequenceResponses(h).map((r) => r.status)).toEqual(expected === 1 ? ['failed'] : ['failed', 'executed']);
      expect(h.value('cmd.seq.failed')).toBe(1);
      expect(h.events.find((e) => e.name === 'CMD_SEQ_DONE')?.args.outcome).toBe(onFailure === 'stop' ? 'stopped at step 0 on failure' : 'completed');
    }
  });

  it('SEQ_STOP stops a running sequence', () => {
    const h = harness({ operators: [A, B] });
    h.send(envelope({ command: 'SEQ_UPLOAD', args: [0, encodeSequence('stop', [ping(1, 'rel', 60_000)])], seq: 1, signers: [A] }));
    h.send(envelope({ command: 'SEQ_START', args: [0], seq: 2, signers: [A] }));
    expect(h.send(envelope({ command: 'SEQ_STOP', args: [0], seq: 3, signers: [A] }))[1]!.status).toBe('executed');
    h.run(10, 10_000);
    expect(sequenceResponses(h)).toEqual([]);
    expect(h.send(envelope({ command: 'SEQ_STOP', args: [0], seq: 4, signers: [A] }))[1]).toMatchObject({ status: 'failed', detail: 'slot 0 is not running' });
  });

  it('refuses an invalid sequence at upload, naming the step', () => {
    const h = harness({ operators: [A, B] });
    const cases: Array<[Uint8Array, RegExp]> = [
      [Uint8Array.of(0xff), /not one well-formed CBOR item/],
      [encodeSequence('stop', [{ timing: 'rel', timeMs: 0, opcode: 0x7777, args: [] }]), /step 0: unknown opcode 0x7777/],
      [encodeSequence('stop', [ping(1, 'rel', 0), ping(-1, 'rel', 0)]), /step 1: PING token: expected an integer/],
      [encodeSequence('stop', [{ timing: 'rel', timeMs: 0, opcode: OPCODES.SEQ_START!, args: [1] }]), /SEQ_START is not allowed in a sequence/],
    ];
    let seq = 1;
    for (const [bytes, message] of cases) {
      const response = h.send(envelope({ command: 'SEQ_UPLOAD', args: [0, bytes], seq: seq++, signers: [A] }))[1]!;
      expect(response).toMatchObject({ status: 'failed', reason: 'CMD_SEQUENCE_INVALID' });
      expect(response.detail).toMatch(message);
    }
    expect(h.send(envelope({ command: 'SEQ_START', args: [0], seq: seq++, signers: [A] }))[1]!.detail).toBe('slot 0 holds no sequence');
  });

  it('a sequence holding a critical command needs k approvals to upload; without them the step fails when it runs', () => {
    const h = harness({ operators: [A, B], approvals: 2 });
    const leaveSafe = { timing: 'rel' as const, timeMs: 0, opcode: OPCODES.SET_MODE!, args: ['NOMINAL'] };
    // Uploaded while NOMINAL: leaving SAFE is not critical yet, so one signature is enough.
    h.send(envelope({ command: 'SEQ_UPLOAD', args: [0, encodeSequence('stop', [leaveSafe])], seq: 1, signers: [A] }));
    h.mode.modeName = 'SAFE';
    h.send(envelope({ command: 'SEQ_START', args: [0], seq: 2, signers: [A] }));
    h.run(2);
    expect(h.responses.find((r) => r.source === 'sequence')).toMatchObject({ status: 'failed', reason: 'CMD_MISSING_APPROVALS' });
    expect(h.mode.modeName).toBe('SAFE');
    // Uploaded while SAFE it is critical: held for a second approval, then it runs.
    expect(h.send(envelope({ command: 'SEQ_UPLOAD', args: [1, encodeSequence('stop', [leaveSafe])], seq: 3, signers: [A] }))[0]!.status).toBe('pending');
    expect(h.send(envelope({ command: 'SEQ_UPLOAD', args: [1, encodeSequence('stop', [leaveSafe])], seq: 4, signers: [A, B] }))[1]!.status).toBe('executed');
    h.send(envelope({ command: 'SEQ_START', args: [1], seq: 5, signers: [A] }));
    h.run(2);
    expect(h.mode.modeName).toBe('NOMINAL');
    // Uploaded while NOMINAL but signed by k approvers anyway: the step may leave SAFE later.
    h.send(envelope({ command: 'SEQ_UPLOAD', args: [2, encodeSequence('stop', [leaveSafe])], seq: 6, signers: [A, B] }));
    h.mode.modeName = 'SAFE';
    h.send(envelope({ command: 'SEQ_START', args: [2], seq: 7, signers: [A] }));
    h.run(2);
    expect(h.mode.modeName).toBe('NOMINAL');
  });

  it('keeps an uploaded sequence across a restart (stopped)', () => {
    const h = harness({ operators: [A, B] });
    h.send(envelope({ command: 'SEQ_UPLOAD', args: [3, encodeSequence('stop', [ping(5, 'rel', 0)])], seq: 1, signers: [A] }));
    const after = harness({ operators: [A, B], dataDir: h.dataDir });
    expect(after.value('cmd.seq.running')).toBe(0);
    after.send(envelope({ command: 'SEQ_START', args: [3], seq: 2, signers: [A] }));
    after.run(2);
    expect(sequenceResponses(after)).toEqual([{ step: 0, status: 'executed', token: 5 }]);
  });
});
