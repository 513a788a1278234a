// Parameters: declared with type, range, default and criticality; persisted in a record file;
// changed by SET_PARAM (critical ones need k-of-n), read by GET_PARAM.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CMD_PARAMS } from '../../flight/cmd/dictionary.js';
import { envelope, harness, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);

function flip(path: string): void {
  const bytes = readFileSync(path);
  bytes[10]! ^= 0xff;
  writeFileSync(path, bytes);
}

describe('parameters', () => {
  it('SET_PARAM persists a value that survives a restart; GET_PARAM reads it', () => {
    const h = harness({ operators: [A, B] });
    expect(h.commanding.params.get('cmd.verifyPerSecond')).toBe(CMD_PARAMS.verifyPerSecond.default);
    const set = h.send(envelope({ command: 'SET_PARAM', args: ['cmd.verifyPerSecond', 50], seq: 1, signers: [A] }));
    expect(set[1]).toMatchObject({ status: 'executed', result: { param: 'cmd.verifyPerSecond', value: 50, was: 20 } });
    const again = harness({ operators: [A, B], dataDir: h.dataDir });
    expect(again.commanding.params.get('cmd.verifyPerSecond')).toBe(50);
    const get = again.send(envelope({ command: 'GET_PARAM', args: ['cmd.verifyPerSecond'], seq: 2, signers: [A] }));
    expect(get[1]).toMatchObject({ status: 'executed', result: { value: 50 } });
  });

  it('refuses an unknown parameter, a value out of range and a fraction for an integer', () => {
    const h = harness({ operators: [A, B] });
    const out = [
      h.send(envelope({ command: 'SET_PARAM', args: ['cmd.nope', 1], seq: 1, signers: [A] }))[1],
      h.send(envelope({ command: 'SET_PARAM', args: ['cmd.verifyPerSecond', 5000], seq: 2, signers: [A] }))[1],
      h.send(envelope({ command: 'SET_PARAM', args: ['cmd.verifyPerSecond', 2.5], seq: 3, signers: [A] }))[1],
      h.send(envelope({ command: 'GET_PARAM', args: ['cmd.nope'], seq: 4, signers: [A] }))[1],
    ];
    expect(out.map((r) => r?.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(out[1]!.detail).toMatch(/expected a value in \[1, 1000\], got 5000/);
    expect(out[2]!.detail).toMatch(/an integer/);
    expect(h.commanding.params.get('cmd.verifyPerSecond')).toBe(20);
  });

  it('a critical parameter needs k approvals', () => {
    const h = harness({ operators: [A, B], approvals: 2 });
    expect(h.send(envelope({ command: 'SET_PARAM', args: ['cmd.maxLifetimeS', 3600], seq: 1, signers: [A] }))[0]!.status).toBe('pending');
    expect(h.commanding.params.get('cmd.maxLifetimeS')).toBe(86400);
    expect(h.send(envelope({ command: 'SET_PARAM', args: ['cmd.maxLifetimeS', 3600], seq: 2, signers: [A, B] }))[1]!.status).toBe('executed');
    expect(h.commanding.params.get('cmd.maxLifetimeS')).toBe(3600);
  });

  it('recovers from a corrupt primary copy (event, counter), and falls back to defaults when both are lost', () => {
    const h = harness({ operators: [A, B] });
    h.send(envelope({ command: 'SET_PARAM', args: ['cmd.responsesPerSecond', 7], seq: 1, signers: [A] }));
    const file = join(h.dataDir, 'params.rec');
    flip(file);
    const recovered = harness({ operators: [A, B], dataDir: h.dataDir });
    expect(recovered.commanding.params.get('cmd.responsesPerSecond')).toBe(7);
    expect(recovered.value('cmd.recordRecoveries')).toBe(1);
    expect(recovered.events.find((e) => e.name === 'CMD_RECORD_RECOVERED')?.args.from).toBe('backup');

    flip(file);
    flip(`${file}.bak`);
    const lost = harness({ operators: [A, B], dataDir: h.dataDir });
    expect(lost.commanding.params.get('cmd.responsesPerSecond')).toBe(10);
    expect(lost.events.find((e) => e.name === 'CMD_RECORD_LOST')?.args.fallback).toMatch(/defaults/);
  });
});
