// Operator keys: changed only by k-of-n key commands, persisted as the log of those signed
// commands, and re-verified from the genesis (mission config) on every start, so a tampered
// or forged log entry is refused.
import { Encoder } from 'cbor-x';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBody, signEnvelope } from '../../flight/cmd/envelope.js';
import { frameRecord, unframeRecord } from '../../flight/cmd/record-file.js';
import { dsa, envelope, harness, NODE, OPCODES, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);
const C = testOperator(3, ['operate', 'approve']);
const E = testOperator(5, ['operate', 'approve']);
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

function status(responses: Array<{ status: string; reason?: string }>): string {
  return responses.map((r) => (r.reason ? `${r.status}:${r.reason}` : r.status)).join(',');
}

/** Rewrites both copies of operators.rec with `edit` applied to the decoded log. */
function editLog(dataDir: string, edit: (log: [number, Uint8Array, Array<[Uint8Array, Array<[number, Uint8Array, Uint8Array]>]>]) => void): void {
  const file = join(dataDir, 'operators.rec');
  const payload = unframeRecord(new Uint8Array(readFileSync(file)));
  if (typeof payload === 'string') throw new Error(payload);
  const log = cbor.decode(payload) as Parameters<typeof edit>[0];
  edit(log);
  const framed = frameRecord(cbor.encode(log));
  writeFileSync(file, framed);
  writeFileSync(`${file}.bak`, framed);
}

describe('operator keys', () => {
  it('OPERATOR_ADD with k approvals adds a key that survives a restart', () => {
    const h = harness({ operators: [A, B, C] });
    expect(status(h.send(envelope({ command: 'NOOP', seq: 1, signers: [E] })))).toBe('rejected:CMD_UNKNOWN_OPERATOR');
    expect(status(h.send(envelope({ command: 'OPERATOR_ADD', args: [5, 'OPERATE_APPROVE', E.publicKey], seq: 1, signers: [A, B] })))).toBe('accepted,executed');
    expect(status(h.send(envelope({ command: 'NOOP', seq: 2, signers: [E] })))).toBe('accepted,executed');
    expect(h.value('cmd.keysGeneration')).toBe(1);
    expect(h.value('cmd.operators')).toBe(4);
    expect(h.events.find((e) => e.name === 'CMD_KEYS_CHANGED')?.message).toMatch(/Operator 5 added \(operate\+approve\)/);

    const after = harness({ operators: [A, B, C], dataDir: h.dataDir });
    expect(after.value('cmd.keysGeneration')).toBe(1);
    expect(status(after.send(envelope({ command: 'NOOP', seq: 3, signers: [E] })))).toBe('accepted,executed');
  });

  it('OPERATOR_ROTATE retires the old key (REVOKED_KEY) and the new one works, also after a restart', () => {
    const h = harness({ operators: [A, B, C] });
    const next = testOperator(1, ['operate', 'approve'], 'operator 1, second key');
    expect(status(h.send(envelope({ command: 'OPERATOR_ROTATE', args: [1, next.publicKey], seq: 1, signers: [A, B] })))).toBe('accepted,executed');
    expect(status(h.send(envelope({ command: 'NOOP', seq: 2, signers: [A] })))).toBe('rejected:CMD_REVOKED_KEY');
    expect(status(h.send(envelope({ command: 'NOOP', seq: 3, signers: [next] })))).toBe('accepted,executed');
    const after = harness({ operators: [A, B, C], dataDir: h.dataDir });
    expect(status(after.send(envelope({ command: 'NOOP', seq: 4, signers: [A] })))).toBe('rejected:CMD_REVOKED_KEY');
    expect(status(after.send(envelope({ command: 'NOOP', seq: 5, signers: [next] })))).toBe('accepted,executed');
    // A retired key cannot be brought back under any operator.
    const back = after.send(envelope({ command: 'OPERATOR_ADD', args: [6, 'OPERATE', A.publicKey], seq: 6, signers: [next, B] }));
    expect(back[1]).toMatchObject({ status: 'failed', detail: expect.stringMatching(/was revoked/) });
  });

  it('refuses on start a logged change whose body was altered (its signatures no longer verify)', () => {
    const h = harness({ operators: [A, B, C] });
    h.send(envelope({ command: 'OPERATOR_ADD', args: [5, 'OPERATE_APPROVE', E.publicKey], seq: 1, signers: [A, B] }));
    const intruder = testOperator(5, ['operate', 'approve'], 'intruder');
    editLog(h.dataDir, (log) => {
      const body = cbor.decode(log[2][0]![0]) as unknown[];
      (body[6] as unknown[])[2] = intruder.publicKey;
      log[2][0]![0] = cbor.encode(body);
    });
    const after = harness({ operators: [A, B, C], dataDir: h.dataDir });
    expect(after.value('cmd.keysGeneration')).toBe(0);
    expect(after.events.find((e) => e.name === 'CMD_RECORD_LOST')?.message).toMatch(/change 1: 0 valid approvals, 2 required/);
    expect(status(after.send(envelope({ command: 'NOOP', seq: 2, signers: [intruder] })))).toBe('rejected:CMD_UNKNOWN_OPERATOR');
  });

  it('refuses on start a forged change that only one operator signed (k = 2)', () => {
    const body = encodeBody({ target: NODE, operator: 1, seq: 9, expiryMs: T0_MS + 60_000, opcode: OPCODES.OPERATOR_ADD!, args: [5, 'OPERATE_APPROVE', E.publicKey] });
    const [, signatures] = cbor.decode(signEnvelope(dsa, body, NODE, [A])) as [Uint8Array, Array<[number, Uint8Array, Uint8Array]>];
    const genesis = harness({ operators: [A, B, C] });
    genesis.send(envelope({ command: 'OPERATOR_REVOKE', args: [3], seq: 1, signers: [A, B] })); // any change, for a log file to edit
    editLog(genesis.dataDir, (log) => {
      log[2] = [[body, signatures]];
    });
    const after = harness({ operators: [A, B, C], dataDir: genesis.dataDir });
    expect(after.value('cmd.keysGeneration')).toBe(0);
    expect(after.events.find((e) => e.name === 'CMD_RECORD_LOST')?.message).toMatch(/1 valid approvals, 2 required/);
    expect(status(after.send(envelope({ command: 'NOOP', seq: 3, signers: [E] })))).toBe('rejected:CMD_UNKNOWN_OPERATOR');
  });

  it('starts again from a changed mission-config operator list (the root of trust), dropping the log', () => {
    const h = harness({ operators: [A, B, C] });
    h.send(envelope({ command: 'OPERATOR_ADD', args: [5, 'OPERATE_APPROVE', E.publicKey], seq: 1, signers: [A, B] }));
    const after = harness({ operators: [A, B], dataDir: h.dataDir });
    expect(after.events.find((e) => e.name === 'CMD_KEYS_REGENESIS')?.args.dropped).toBe(1);
    expect(status(after.send(envelope({ command: 'NOOP', seq: 2, signers: [E] })))).toBe('rejected:CMD_UNKNOWN_OPERATOR');
  });

  it('recovers the key log from its backup copy when the primary is corrupt', () => {
    const h = harness({ operators: [A, B, C] });
    h.send(envelope({ command: 'OPERATOR_ADD', args: [5, 'OPERATE_APPROVE', E.publicKey], seq: 1, signers: [A, B] }));
    const file = join(h.dataDir, 'operators.rec');
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(file, bytes);
    const after = harness({ operators: [A, B, C], dataDir: h.dataDir });
    expect(after.value('cmd.recordRecoveries')).toBe(1);
    expect(status(after.send(envelope({ command: 'NOOP', seq: 2, signers: [E] })))).toBe('accepted,executed');
  });
});
