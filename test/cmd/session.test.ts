// ML-KEM-768 session keys for BPSec: the KEM against all NIST ACVP encapDecap vectors, and the
// signed handshake, directional AES-256-GCM keys, rekey and its failure paths.
import { Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MlKem, type MlKemParameterSet } from '../../flight/cmd/mlkem.js';
import { BcbOpenFailed, SessionKeys, SessionRejected } from '../../flight/cmd/session.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { hex, loadAcvp } from './support/acvp.js';
import { dsa } from './support/harness.js';

interface KemTest { ek?: string; dk?: string; m?: string; c?: string }
const GROUPS = loadAcvp<KemTest>('ML-KEM-encapDecap-FIPS203');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('ML-KEM: ACVP encapDecap (all groups)', () => {
  for (const group of GROUPS) {
    it(`${group.info.parameterSet} ${group.info.function}: ${group.tests.length} tests`, () => {
      const kem = new MlKem(group.info.parameterSet as MlKemParameterSet);
      const wrong: number[] = [];
      for (const t of group.tests) {
        const e = t.expected;
        switch (group.info.function) {
          case 'encapsulation': {
            const { ciphertext, sharedSecret } = kem.encapsulate(hex(t.ek!), hex(t.m!));
            if (toHex(ciphertext) !== e.c || toHex(sharedSecret) !== e.k) wrong.push(t.tcId);
            break;
          }
          case 'decapsulation':
            if (toHex(kem.decapsulate(hex(t.c!), hex(t.dk!))) !== e.k) wrong.push(t.tcId);
            break;
          case 'encapsulationKeyCheck': {
            let passed = true;
            try {
              kem.encapsulate(hex(t.ek!));
            } catch (error) {
              expect((error as Error).name).toBe('KemInputInvalid');
              passed = false;
            }
            if (passed !== e.testPassed) wrong.push(t.tcId);
            break;
          }
          case 'decapsulationKeyCheck': {
            let passed = true;
            try {
              kem.decapsulate(new Uint8Array(kem.lengths.ciphertext), hex(t.dk!));
            } catch (error) {
              expect((error as Error).name).toBe('KemInputInvalid');
              passed = false;
            }
            if (passed !== e.testPassed) wrong.push(t.tcId);
            break;
          }
          default:
            throw new Error(`unknown ACVP function ${String(group.info.function)}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
  it('covers every group of the file', () => {
    expect(GROUPS.map((g) => `${g.info.parameterSet} ${g.info.function}`)).toHaveLength(12);
  });
});

const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());
const SEEDS = { 1: seed('node 1 identity'), 2: seed('node 2 identity'), 3: seed('node 3 identity') };
const PUBLIC = new Map([1, 2, 3].map((n) => [n, dsa.publicKey(SEEDS[n as 1 | 2 | 3])]));

function endpoint(node: 1 | 2 | 3, wall: { ms: number }): { keys: SessionKeys; rekeys: () => number } {
  const tlm = new TelemetryRegistry();
  const rekeys = tlm.define({ name: 'cmd.session.rekeys', type: 'u64', units: '', doc: '' });
  const keys = new SessionKeys({
    node, identitySeed: SEEDS[node], peers: PUBLIC, dsa, wallMs: () => wall.ms,
    rekeyMs: 3_600_000, rekeyBlocks: 3, offerMaxAgeMs: 600_000,
    events: new EventLog(createRootLogger({ level: 'silent' }), () => 0), rekeys,
  });
  return { keys, rekeys: () => rekeys.value };
}

describe('BPSec session keys (ML-KEM-768 + ML-DSA-65 + HKDF + AES-256-GCM)', () => {
  const aad = new TextEncoder().encode('primary block + BCB header');
  const data = new TextEncoder().encode('payload block data');

  it('establishes directional keys both ends agree on; each direction opens only the other end', () => {
    const wall = { ms: 1_900_000_000_000 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    expect(a.keys.needsRekey(2)).toBe(true);
    const { reply, session: atB } = b.keys.accept(a.keys.offer(2));
    const atA = a.keys.complete(reply);
    expect(Buffer.from(atA.keyId)).toEqual(Buffer.from(atB.keyId));
    const sealed = atA.seal(data, aad);
    expect(Buffer.from(sealed.ciphertext)).not.toEqual(Buffer.from(data));
    expect(b.keys.open(1, sealed, aad)).toEqual(data);
    expect(a.keys.open(2, atB.seal(data, aad), aad)).toEqual(data);
    // A's own sealing key does not open at A (keys are per direction).
    expect(() => atA.open(sealed, aad)).toThrow(BcbOpenFailed);
    expect(() => b.keys.open(1, sealed, new TextEncoder().encode('other aad'))).toThrow(/authentication tag mismatch/);
    const flipped = { ...sealed, ciphertext: Uint8Array.from(sealed.ciphertext, (x, i) => (i === 0 ? x ^ 1 : x)) };
    expect(() => b.keys.open(1, flipped, aad)).toThrow(BcbOpenFailed);
    expect(a.rekeys()).toBe(1);
    expect(b.rekeys()).toBe(1);
  });

  it('rekeys after rekeyBlocks blocks; the previous session still opens blocks sealed before', () => {
    const wall = { ms: 1_900_000_000_000 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const first = a.keys.complete(b.keys.accept(a.keys.offer(2)).reply);
    const old = [first.seal(data, aad), first.seal(data, aad), first.seal(data, aad)];
    expect(new Set(old.map((s) => Buffer.from(s.iv).toString('hex'))).size).toBe(3);
    expect(a.keys.needsRekey(2)).toBe(true);
    wall.ms += 1;
    const second = a.keys.complete(b.keys.accept(a.keys.offer(2)).reply);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(Buffer.from(second.keyId)).not.toEqual(Buffer.from(first.keyId));
    expect(b.keys.open(1, old[0]!, aad)).toEqual(data);
    expect(b.keys.open(1, second.seal(data, aad), aad)).toEqual(data);
    wall.ms += 3_600_000;
    expect(a.keys.needsRekey(2)).toBe(true);
  });

  it('refuses a replayed offer, a forged signature, the wrong addressee and a stale offer', () => {
    const wall = { ms: 1_900_000_000_000 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const c = endpoint(3, wall);
    const offer = a.keys.offer(2);
    b.keys.accept(offer);
    expect(() => b.keys.accept(offer)).toThrow(/not newer .* \(replay\?\)/);
    expect(() => c.keys.accept(a.keys.offer(2))).toThrow(/addressed to node 2/);
    // Node 3 signs an offer claiming to be node 1.
    const cbor = new Encoder({ useRecords: false, tagUint8Array: false });
    const [body] = cbor.decode(a.keys.offer(2)) as [Uint8Array, Uint8Array];
    const forged = cbor.encode([body, dsa.sign(SEEDS[3], body, new TextEncoder().encode('tern-session-v1:2'))]);
    expect(() => b.keys.accept(forged)).toThrow(/signature of node 1 does not verify/);
    const stale = a.keys.offer(2);
    wall.ms += 600_001;
    expect(() => b.keys.accept(stale)).toThrow(/outside 600000 ms/);
    expect(() => b.keys.accept(Uint8Array.of(1, 2, 3))).toThrow(SessionRejected);
    // An accept for an offer never made.
    const d = endpoint(1, wall);
    expect(() => d.keys.complete(b.keys.accept(a.keys.offer(2)).reply)).toThrow(/no outstanding offer/);
  });
});
