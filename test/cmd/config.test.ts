// The `cmd` mission-config section: genesis operators (inline or from keygen's .pub.json files),
// k, bounds, the optional session section; every error names the file and field.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { parseCmdConfig } from '../../flight/cmd/config.js';
import { writeKeyFiles } from '../../flight/cmd/keyfile.js';
import { nodeHasMlDsa } from '../../flight/cmd/mldsa.js';
import { testOperator } from './support/harness.js';

const A = testOperator(1);
const B = testOperator(2);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function parse(raw: unknown, dir = tmpdir()): ReturnType<typeof parseCmdConfig> {
  return parseCmdConfig(new Fields(join(dir, 'mission.json')), raw);
}

const base = {
  approvals: 2,
  operators: [
    { id: 1, roles: ['operate', 'approve'], publicKey: b64(A.publicKey) },
    { id: 2, name: 'bob', roles: ['approve'], publicKey: b64(B.publicKey) },
  ],
};

describe('cmd config', () => {
  it('reads operators inline and from public key files, with defaults for the bounds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-cmdcfg-'));
    writeKeyFiles(join(dir, 'bob.key'), { id: 2, name: 'bob', seed: B.seed, publicKey: B.publicKey });
    const config = parse({ ...base, operators: [base.operators[0], { id: 2, roles: ['approve'], publicKeyFile: 'bob.key.pub.json' }] }, dir);
    expect(config.operators.map((o) => [o.id, o.name, o.roles])).toEqual([[1, 'operator-1', ['operate', 'approve']], [2, 'operator-2', ['approve']]]);
    expect(Buffer.from(config.operators[1]!.publicKey)).toEqual(Buffer.from(B.publicKey));
    expect(config.dispatch).toEqual({ budgetUs: 20_000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 2, executionsPerSlot: 4, pendingApprovals: 16 });
    expect(config.backend).toBe('auto');
    expect(config.session).toBeUndefined();
  });

  it('reads the session section: identity key, peers, rekey policy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-cmdcfg-'));
    writeKeyFiles(join(dir, 'node-8.key'), { id: 8, name: 'node-8', seed: B.seed, publicKey: B.publicKey });
    const config = parse({ ...base, session: { identityKeyFile: 'node-7.key', peers: [{ node: 8, publicKeyFile: 'node-8.key.pub.json' }], rekeyS: 600 } }, dir);
    expect(config.session).toMatchObject({ identityKeyFile: join(dir, 'node-7.key'), rekeyS: 600, rekeyBlocks: 1_000_000, offerMaxAgeS: 600, offerRetryS: 60, handshakesPerMinute: 30 });
    expect([...config.session!.peers.keys()]).toEqual([8]);
  });

  it('names the field of every mistake', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, approvals: 3 }, /cmd\.approvals: expected at most the number of operators with the approve role \(2\), got 3/],
      [{ ...base, operators: [base.operators[0], { ...base.operators[1], id: 1 }] }, /cmd\.operators\[1\]\.id: expected an id no other operator has/],
      [{ ...base, operators: [base.operators[0], { ...base.operators[1], publicKey: b64(A.publicKey) }] }, /cmd\.operators\[1\]: expected a public key no other operator has/],
      [{ ...base, operators: [{ ...base.operators[0], publicKey: 'AAAA' }] }, /cmd\.operators\[0\]\.publicKey: expected base64 of a 1952-byte ML-DSA-65 public key/],
      [{ ...base, operators: [{ ...base.operators[0], roles: ['root'] }] }, /cmd\.operators\[0\]\.roles\[0\]: expected one of operate, approve/],
      [{ ...base, approvals: 1, operators: [base.operators[1]] }, /cmd\.operators: expected at least one operator with the operate role/],
      [{ ...base, operators: [{ id: 1, roles: ['operate'] }] }, /cmd\.operators\[0\]: expected exactly one of publicKey, publicKeyFile/],
      [{ ...base, operators: [{ id: 1, roles: ['operate'], publicKeyFile: 'missing.pub.json' }] }, /publicKeyFile: expected a readable public key file/],
      [{ ...base, dispatch: { queue: 0 } }, /cmd\.dispatch\.queue: expected an integer in \[1, 4096\], got 0/],
      [{ ...base, backend: 'gpu' }, /cmd\.backend: expected one of auto, noble, node/],
      [{ ...base, extra: 1 }, /cmd\.extra: expected a known field/],
      [{ ...base, session: { identityKeyFile: 'k', peers: [], handshakesPerMinute: 0 } }, /cmd\.session\.handshakesPerMinute: expected an integer in \[1, 6000\], got 0/],
      [{ ...base, session: { identityKeyFile: 'k', peers: [{ node: 8, publicKeyFile: 'missing.pub.json' }] } }, /cmd\.session\.peers\[0\]\.publicKeyFile: expected a readable public key file/],
      ...(nodeHasMlDsa() ? [] : [[{ ...base, backend: 'node' }, /cmd\.backend: expected auto or noble: node:crypto of Node v\d+/] as [unknown, RegExp]]),
    ];
    for (const [raw, message] of cases) expect(() => parse(raw)).toThrow(message);
  });
});
