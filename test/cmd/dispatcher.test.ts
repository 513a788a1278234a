// The dispatcher on real signed envelopes, real files (replay state, key log) and a virtual
// clock: every reject path with its typed code and counter, k-of-n approvals held and expired,
// and the rate limit in front of verification.
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { encodeBody, signEnvelope } from '../../flight/cmd/envelope.js';
import { dsa, envelope, harness, NODE, OPCODES, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);
const C = testOperator(3, ['operate']);
const D = testOperator(4, ['operate', 'approve']);
const OPERATORS = [A, B, C, D];
const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

function statuses(responses: Array<{ status: string; reason?: string }>): string[] {
  return responses.map((r) => (r.reason ? `${r.status}:${r.reason}` : r.status));
}

describe('dispatcher: accepted commands', () => {
  it('runs a signed NOOP and PING, answering accepted then executed with the result', () => {
    const h = harness({ operators: OPERATORS });
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 1, signers: [A] })))).toEqual(['accepted', 'executed']);
    const ping = h.send(envelope({ command: 'PING', args: [42], seq: 2, signers: [A] }));
    expect(ping[1]).toMatchObject({ status: 'executed', command: 'PING', operator: 1, seq: 2, result: { token: 42 } });
    expect(h.value('cmd.accepted')).toBe(2);
    expect(h.value('cmd.executed')).toBe(2);
    expect(h.value('cmd.rejected')).toBe(0);
    expect(h.value('cmd.verifications')).toBe(2);
  });

  it('CLEAR_COUNTERS zeroes the counters', () => {
    const h = harness({ operators: OPERATORS });
    h.send(new Uint8Array([1, 2, 3]));
    h.send(envelope({ command: 'CLEAR_COUNTERS', seq: 1, signers: [A] }));
    expect(h.value('cmd.rejected')).toBe(0);
    expect(h.value('cmd.rejected.malformed')).toBe(0);
    expect(h.value('cmd.accepted')).toBe(0);
  });
});

describe('dispatcher: every reject path has a typed code, a counter and a response', () => {
  // outOfBounds: refused by the CBOR bounds check before decoding (a break where no item may be, a map).
  const cases: Array<{ name: string; code: string; channel: string; outOfBounds?: true; bytes: () => Uint8Array }> = [
    { name: 'not CBOR', code: 'CMD_MALFORMED', channel: 'malformed', outOfBounds: true, bytes: () => new Uint8Array([0xff, 0x00, 0x13]) },
    { name: 'CBOR of the wrong shape', code: 'CMD_MALFORMED', channel: 'malformed', outOfBounds: true, bytes: () => cbor.encode({ hello: 'world' }) },
    { name: 'CBOR of the wrong shape within bounds', code: 'CMD_MALFORMED', channel: 'malformed', bytes: () => cbor.encode([1, 2, 3]) },
    {
      name: 'an unsupported version', code: 'CMD_MALFORMED', channel: 'malformed',
      bytes: () => signEnvelope(dsa, cbor.encode([2, NODE, 1, 1, T0_MS + 60_000, 0x0501, []]), NODE, [A]),
    },
    { name: 'no signatures', code: 'CMD_MALFORMED', channel: 'malformed', bytes: () => cbor.encode([encodeBody({ target: NODE, operator: 1, seq: 1, expiryMs: T0_MS + 1000, opcode: 0x0501, args: [] }), []]) },
    { name: 'another spacecraft as target', code: 'CMD_WRONG_TARGET', channel: 'wrongTarget', bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [A], target: NODE + 1 }) },
    { name: 'an expiry in the past', code: 'CMD_EXPIRED', channel: 'expired', bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [A], expiryMs: T0_MS - 1 }) },
    { name: 'an expiry beyond cmd.maxLifetimeS', code: 'CMD_LIFETIME_EXCEEDED', channel: 'lifetime', bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [A], expiryMs: T0_MS + 2 * 86_400_000 }) },
    { name: 'an unknown opcode', code: 'CMD_UNKNOWN_OPCODE', channel: 'unknownOpcode', bytes: () => envelope({ command: 0x7777, seq: 1, signers: [A] }) },
    { name: 'an out-of-range argument', code: 'CMD_BAD_ARGUMENT', channel: 'badArgument', bytes: () => envelope({ command: 'PING', args: [2 ** 32], seq: 1, signers: [A] }) },
    { name: 'a missing argument', code: 'CMD_BAD_ARGUMENT', channel: 'badArgument', bytes: () => envelope({ command: 'PING', args: [], seq: 1, signers: [A] }) },
    { name: 'an enum label not declared', code: 'CMD_BAD_ARGUMENT', channel: 'badArgument', bytes: () => envelope({ command: 'SET_MODE', args: ['PANIC'], seq: 1, signers: [A] }) },
    { name: 'an unknown operator', code: 'CMD_UNKNOWN_OPERATOR', channel: 'unknownOperator', bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [testOperator(9)] }) },
    {
      name: 'a known operator id with another key', code: 'CMD_UNKNOWN_OPERATOR', channel: 'unknownOperator',
      bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [{ ...testOperator(1, ['operate'], 'impostor') }] }),
    },
    { name: 'an originator without the operate role', code: 'CMD_NOT_AUTHORIZED', channel: 'notAuthorized', bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [B] }) },
    {
      name: 'a signature made for another spacecraft', code: 'CMD_BAD_SIGNATURE', channel: 'badSignature',
      bytes: () => envelope({ command: 'NOOP', seq: 1, signers: [A], signTarget: NODE + 1 }),
    },
    {
      name: 'a flipped signature bit', code: 'CMD_BAD_SIGNATURE', channel: 'badSignature',
      bytes: () => {
        const [body, [[op, kid, sig]]] = cbor.decode(envelope({ command: 'NOOP', seq: 1, signers: [A] })) as [Uint8Array, [[number, Uint8Array, Uint8Array]]];
        sig[100]! ^= 0x01;
        return cbor.encode([body, [[op, kid, sig]]]);
      },
    },
    {
      name: 'no signature by the originator (only a co-signer)', code: 'CMD_BAD_SIGNATURE', channel: 'badSignature',
      bytes: () => envelope({ command: 'NOOP', seq: 1, operator: 1, signers: [D] }),
    },
  ];
  for (const c of cases) {
    it(`${c.code} for ${c.name}`, () => {
      const h = harness({ operators: OPERATORS });
      const responses = h.send(c.bytes());
      expect(statuses(responses)).toEqual([`rejected:${c.code}`]);
      expect(h.value(`cmd.rejected.${c.channel}`)).toBe(1);
      expect(h.value('cmd.rejected')).toBe(1);
      expect(h.value('cmd.executed')).toBe(0);
      expect(h.events.find((e) => e.name === 'CMD_REJECTED')?.args.reason).toBe(c.code);
      expect(h.value('cmd.rejected.outOfBounds')).toBe(c.outOfBounds ? 1 : 0);
    });
  }

  it('CMD_MALFORMED for the 40 KB bignum of issue 9, counted as out of bounds; the next command runs in the same slot', () => {
    const h = harness({ operators: OPERATORS });
    h.commanding.submit(Uint8Array.of(0xc2, 0x59, 0x9c, 0x40, ...new Uint8Array(40_000).fill(0xff)), { sourceNode: 100 });
    h.commanding.submit(envelope({ command: 'NOOP', seq: 1, signers: [A] }), { sourceNode: 100 });
    h.run();
    expect(statuses(h.responses)).toEqual(['rejected:CMD_MALFORMED', 'accepted', 'executed']);
    expect(h.responses[0]!.detail).toMatch(/a tag \(2, a bignum\)/);
    expect(h.value('cmd.rejected.malformed')).toBe(1);
    expect(h.value('cmd.rejected.outOfBounds')).toBe(1);
  });
});

describe('dispatcher: anti-replay', () => {
  it('refuses the same envelope twice, accepts out-of-order numbers within the window once', () => {
    const h = harness({ operators: OPERATORS });
    const five = envelope({ command: 'NOOP', seq: 5, signers: [A] });
    expect(statuses(h.send(five))).toEqual(['accepted', 'executed']);
    expect(statuses(h.send(five))).toEqual(['rejected:CMD_REPLAY']);
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 3, signers: [A] })))).toEqual(['accepted', 'executed']);
    expect(statuses(h.send(envelope({ command: 'PING', args: [1], seq: 3, signers: [A] })))).toEqual(['rejected:CMD_REPLAY']);
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 100, signers: [A] })))).toEqual(['accepted', 'executed']);
    // 100 - 36 = 64: just outside a 64-number window.
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 36, signers: [A] })))).toEqual(['rejected:CMD_REPLAY']);
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 37, signers: [A] })))).toEqual(['accepted', 'executed']);
    // Each operator has its own numbers.
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 5, signers: [C] })))).toEqual(['accepted', 'executed']);
    expect(h.value('cmd.rejected.replay')).toBe(3);
  });

  it('refuses a replay after a restart (state persisted before the command ran)', () => {
    const first = harness({ operators: OPERATORS });
    const bytes = envelope({ command: 'NOOP', seq: 1, signers: [A] });
    expect(statuses(first.send(bytes))).toEqual(['accepted', 'executed']);
    const second = harness({ operators: OPERATORS, dataDir: first.dataDir });
    expect(statuses(second.send(bytes))).toEqual(['rejected:CMD_REPLAY']);
    expect(statuses(second.send(envelope({ command: 'NOOP', seq: 2, signers: [A] })))).toEqual(['accepted', 'executed']);
  });
});

describe('dispatcher: k-of-n approval of critical commands', () => {
  it('holds a critical command with one approval, runs it when a second operator signs the same bytes', () => {
    const h = harness({ operators: OPERATORS, approvals: 2 });
    const body = encodeBody({ target: NODE, operator: 1, seq: 1, expiryMs: T0_MS + 600_000, opcode: OPCODES.OPERATOR_REVOKE!, args: [3] });
    const first = h.send(signEnvelope(dsa, body, NODE, [A]));
    expect(first).toEqual([expect.objectContaining({ status: 'pending', approvals: expect.objectContaining({ have: 1, need: 2 }) })]);
    expect(h.value('cmd.pendingApprovals')).toBe(1);
    expect(h.events.some((e) => e.name === 'CMD_APPROVAL_PENDING')).toBe(true);
    // The same approver again does not count twice, and is not a replay.
    expect(statuses(h.send(signEnvelope(dsa, body, NODE, [A])))).toEqual(['pending']);
    // An operator without the approve role signs: valid, but not an approval.
    expect(statuses(h.send(signEnvelope(dsa, body, NODE, [C])))).toEqual(['pending']);
    const second = h.send(signEnvelope(dsa, body, NODE, [B]));
    expect(statuses(second)).toEqual(['accepted', 'executed']);
    expect(second[1]!.result).toEqual({ change: 'revoked' });
    expect(h.value('cmd.pendingApprovals')).toBe(0);
    // The revoked operator's key is now refused, and the approved body cannot run again.
    expect(statuses(h.send(envelope({ command: 'NOOP', seq: 1, signers: [C] })))).toEqual(['rejected:CMD_REVOKED_KEY']);
    expect(statuses(h.send(signEnvelope(dsa, body, NODE, [A, B])))).toEqual(['rejected:CMD_REPLAY']);
  });

  it('no longer counts an approval whose key was revoked while the command was held', () => {
    const E = testOperator(5, ['operate', 'approve']);
    const h = harness({ operators: [A, B, C, D, E], approvals: 3 });
    const body = encodeBody({ target: NODE, operator: 1, seq: 1, expiryMs: T0_MS + 600_000, opcode: OPCODES.OPERATOR_REVOKE!, args: [3] });
    expect(statuses(h.send(signEnvelope(dsa, body, NODE, [A])))).toEqual(['pending']);
    expect(h.send(signEnvelope(dsa, body, NODE, [D]))[0]!.approvals!.have).toBe(2);
    expect(statuses(h.send(envelope({ command: 'OPERATOR_REVOKE', args: [4], seq: 2, signers: [A, B, E] })))).toEqual(['accepted', 'executed']);
    const withB = h.send(signEnvelope(dsa, body, NODE, [B]));
    expect(withB).toEqual([expect.objectContaining({ status: 'pending', approvals: expect.objectContaining({ have: 2, need: 3 }) })]);
    const withE = h.send(signEnvelope(dsa, body, NODE, [E]));
    expect(statuses(withE)).toEqual(['accepted', 'executed']);
  });

  it('runs a critical command that arrives with k signatures at once', () => {
    const h = harness({ operators: OPERATORS, approvals: 2 });
    expect(statuses(h.send(envelope({ command: 'OPERATOR_REVOKE', args: [3], seq: 1, signers: [A, D] })))).toEqual(['accepted', 'executed']);
  });

  it('drops partial approvals when the window closes, with a MISSING_APPROVALS response and event', () => {
    const h = harness({ operators: OPERATORS, approvals: 2 });
    expect(statuses(h.send(envelope({ command: 'OPERATOR_REVOKE', args: [3], seq: 1, signers: [A] })))).toEqual(['pending']);
    h.wall.ms += 900_000; // cmd.approvalWindowS default
    const before = h.responses.length;
    h.run();
    expect(statuses(h.responses.slice(before))).toEqual(['rejected:CMD_MISSING_APPROVALS']);
    expect(h.value('cmd.rejected.missingApprovals')).toBe(1);
    expect(h.value('cmd.pendingApprovals')).toBe(0);
    expect(h.events.some((e) => e.name === 'CMD_APPROVAL_EXPIRED')).toBe(true);
  });

  it('drops a new critical command when the approval table is full (counted, no verification spent)', () => {
    const h = harness({ operators: OPERATORS, approvals: 2, dispatch: { pendingApprovals: 2 } });
    for (const seq of [1, 2]) expect(statuses(h.send(envelope({ command: 'OPERATOR_REVOKE', args: [3], seq, signers: [A] })))).toEqual(['pending']);
    const verified = h.value('cmd.verifications');
    expect(h.send(envelope({ command: 'OPERATOR_REVOKE', args: [3], seq: 3, signers: [A] }))).toEqual([]);
    expect(h.value('cmd.rejected.queueFull')).toBe(1);
    expect(h.value('cmd.verifications')).toBe(verified);
  });

  it('SET_MODE is normal into SAFE and critical out of it', () => {
    const h = harness({ operators: OPERATORS, approvals: 2 });
    expect(statuses(h.send(envelope({ command: 'SET_MODE', args: ['SAFE'], seq: 1, signers: [A] })))).toEqual(['accepted', 'executed']);
    expect(h.mode.modeName).toBe('SAFE');
    expect(statuses(h.send(envelope({ command: 'SET_MODE', args: ['NOMINAL'], seq: 2, signers: [A] })))).toEqual(['pending']);
    expect(h.mode.modeName).toBe('SAFE');
    expect(statuses(h.send(envelope({ command: 'SET_MODE', args: ['NOMINAL'], seq: 3, signers: [A, B] })))).toEqual(['accepted', 'executed']);
    expect(h.mode.modeName).toBe('NOMINAL');
  });

  it('refuses a key change that would leave fewer than k approvers', () => {
    const h = harness({ operators: [A, B, C], approvals: 2 });
    const responses = h.send(envelope({ command: 'OPERATOR_REVOKE', args: [2], seq: 1, signers: [A, B] }));
    expect(responses[1]).toMatchObject({ status: 'failed', reason: 'CMD_FAILED' });
    expect(responses[1]!.detail).toMatch(/fewer than k=2/);
    expect(h.value('cmd.failed')).toBe(1);
  });
});

describe('dispatcher: flood protection', () => {
  it('verifies at most the token buckets allow: a source past its share is dropped undecoded without responses, a source within it waits for the node', () => {
    const h = harness({ operators: OPERATORS, dispatch: { queue: 256, envelopesPerSlot: 256, verificationsPerSlot: 256 } });
    // Signed-looking envelopes from a known operator with fresh numbers: each would need a verification.
    const good = cbor.decode(envelope({ command: 'NOOP', seq: 1, signers: [A] })) as [Uint8Array, [[number, Uint8Array, Uint8Array]]];
    const forged = (seq: number): Uint8Array => {
      const body = encodeBody({ target: NODE, operator: 1, seq, expiryMs: T0_MS + 600_000, opcode: 0x0501, args: [] });
      return cbor.encode([body, good[1]]);
    };
    // The signature is the one of sequence number 1, so every forged body (2..201) fails verification.
    for (let seq = 2; seq <= 201; seq++) expect(h.commanding.submit(forged(seq), { sourceNode: 100 })).toBe(true);
    h.run();
    // cmd.verifyBurst = 10 tokens, for the node and for one source: the source's are spent, and
    // the rest of its envelopes are dropped without being decoded.
    expect(h.value('cmd.verifications')).toBe(10);
    expect(h.value('cmd.rejected.badSignature')).toBe(10);
    expect(h.value('cmd.rejected.rateLimited')).toBe(190);
    expect(h.value('cmd.queueDepth')).toBe(0);
    const responses = h.responses.filter((r) => r.status === 'rejected');
    expect(responses.map((r) => r.reason)).toEqual(Array(10).fill('CMD_BAD_SIGNATURE'));
    // Another source has its own share, but the node's budget is spent: its command waits ...
    h.commanding.submit(envelope({ command: 'NOOP', seq: 500, signers: [A] }, h.wall.ms), { sourceNode: 101 });
    h.run();
    expect(h.value('cmd.queueDepth')).toBe(1);
    expect(h.value('cmd.rejected.rateLimited')).toBe(190);
    // ... until the node has a token again (cmd.verifyPerSecond = 20: 50 ms).
    h.wall.ms += 40;
    h.clock.advance(40_000);
    h.run();
    expect(statuses(h.responses.slice(-2))).toEqual(['accepted', 'executed']);
    // The flooding source, 60 ms on, has half a token (its share, 10/s): still dropped.
    h.commanding.submit(forged(202), { sourceNode: 100 });
    h.run();
    expect(h.value('cmd.rejected.rateLimited')).toBe(191);
    expect(h.value('cmd.verifications')).toBe(11);
  });

  it('caps verifications per slot, leaving the rest queued for the next slot', () => {
    const h = harness({ operators: OPERATORS, dispatch: { verificationsPerSlot: 1 } });
    h.commanding.submit(envelope({ command: 'NOOP', seq: 1, signers: [A] }));
    h.commanding.submit(envelope({ command: 'NOOP', seq: 2, signers: [A] }));
    h.run();
    expect(h.value('cmd.verifications')).toBe(1);
    expect(h.value('cmd.queueDepth')).toBe(1);
    h.run();
    expect(h.value('cmd.verifications')).toBe(2);
    expect(h.value('cmd.executed')).toBe(2);
  });

  it('drops an envelope with more signatures than cmd.verifyBurst holds instead of holding the queue for ever', () => {
    const h = harness({ operators: OPERATORS });
    h.send(envelope({ command: 'SET_PARAM', args: ['cmd.verifyBurst', 1], seq: 1, signers: [A] }));
    h.run(100, 10);
    h.commanding.submit(envelope({ command: 'SET_MODE', args: ['NOMINAL'], seq: 2, signers: [A, B] }));
    h.commanding.submit(envelope({ command: 'NOOP', seq: 3, signers: [A] }));
    h.run(100, 10);
    expect(h.value('cmd.rejected.rateLimited')).toBe(1);
    expect(statuses(h.responses.slice(-2))).toEqual(['accepted', 'executed']);
  });

  it('stops examining at half its budget, leaving the rest queued: checks cost time too', () => {
    const h = harness({ operators: OPERATORS, dispatch: { budgetUs: 2000, envelopesPerSlot: 16 } });
    for (let i = 0; i < 16; i++) h.commanding.submit(new Uint8Array([0xff]));
    // A clock on which every reading is 300 us later: the slot's time goes as envelopes are examined.
    const nowUs = h.clock.nowUs.bind(h.clock);
    let readings = 0;
    h.clock.nowUs = () => nowUs() + 300 * readings++;
    h.run();
    const examined = h.value('cmd.rejected.malformed');
    expect(examined).toBeGreaterThan(0);
    expect(examined).toBeLessThan(16);
    expect(h.value('cmd.queueDepth')).toBe(16 - examined);
    h.run(16);
    expect(h.value('cmd.rejected.malformed')).toBe(16);
  });

  it('drops envelopes beyond the queue capacity on arrival', () => {
    const h = harness({ operators: OPERATORS, dispatch: { queue: 2 } });
    const junk = new Uint8Array([0xff]);
    expect([h.commanding.submit(junk), h.commanding.submit(junk), h.commanding.submit(junk)]).toEqual([true, true, false]);
    expect(h.value('cmd.rejected.queueFull')).toBe(1);
  });

  it('limits reject responses to cmd.responsesPerSecond, counting the rest', () => {
    const h = harness({ operators: OPERATORS, dispatch: { envelopesPerSlot: 64 } });
    for (let i = 0; i < 30; i++) h.commanding.submit(new Uint8Array([0xff]));
    h.run();
    expect(h.value('cmd.rejected.malformed')).toBe(30);
    expect(h.responses).toHaveLength(10);
    expect(h.value('cmd.responsesSuppressed')).toBe(20);
  });
});
