import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeAsb } from '../../flight/dtn/asb.js';
import { decryptBundle, encryptBundle, signBundle, verifyIntegrity, type SecurityResult } from '../../flight/dtn/bpsec.js';
import { BlockFlag, BlockType, payloadBlock, type Block, type Bundle } from '../../flight/dtn/bundle.js';
import { StatusReason } from '../../flight/dtn/bundle-error.js';
import { assembleBundle, createBundle, decodeBundle, encodeBlock, encodePrimary } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { parseKeys, type SecurityKey } from '../../flight/dtn/keys.js';
import { T0, expectBundleError, payloadOf, sampleBundle } from './helpers.js';
import { rfc9173Vectors } from './vectors.js';

const text = (b: Bundle): string => Buffer.from(payloadBlock(b).data).toString('utf8');
const statuses = (rs: readonly SecurityResult[]): string[] => rs.map((r) => `${r.service}:${r.block}->${r.target}:${r.status}`);

const SOURCE = ipn(10, 0);
const key = (jwk: Record<string, unknown>): SecurityKey => parseKeys([{ kty: 'oct', kid: 'ipn:10.0', ...jwk }], 'test')[0]!;
const b64 = (n: number): string => randomBytes(n).toString('base64url');

/** `bundle` with block `number` given new data, CRC recomputed: a forger's edit, not a bit error. */
function forge(bundle: Bundle, number: number, edit: (data: Uint8Array) => Uint8Array): Bundle {
  const blocks = bundle.blocks.map((b): Block => (b.number === number ? encodeBlock({ ...b, data: edit(Uint8Array.from(b.data)) }) : b));
  return decodeBundle(assembleBundle(bundle.primary, blocks).bytes);
}

function flip(data: Uint8Array, at = 0): Uint8Array {
  data[at]! ^= 0x01;
  return data;
}

describe('RFC 9173 Appendix A bundles', () => {
  const vectors = rfc9173Vectors();
  const expected: Record<string, { decrypt: string[]; verify: string[] }> = {
    rfc9173_appendix_a_1: { decrypt: [], verify: ['integrity:2->1:verified'] },
    rfc9173_appendix_a_2: { decrypt: ['confidentiality:2->1:decrypted'], verify: [] },
    rfc9173_appendix_a_3: { decrypt: ['confidentiality:4->1:decrypted'], verify: ['integrity:3->0:verified', 'integrity:3->2:verified'] },
    rfc9173_appendix_a_4: { decrypt: ['confidentiality:2->3:decrypted', 'confidentiality:2->1:decrypted'], verify: ['integrity:3->1:verified'] },
  };

  it.each(vectors.map((v) => [v.name, v] as const))('%s decodes, decrypts and verifies to the expected payload', (name, v) => {
    const bundle = decodeBundle(v.bytes);
    const { bundle: plain, results } = decryptBundle(bundle, v.keys);
    expect(statuses(results)).toEqual(expected[name]!.decrypt);
    expect(statuses(verifyIntegrity(plain, v.keys))).toEqual(expected[name]!.verify);
    expect(text(plain)).toBe(v.expectedPayload);
    // Decryption removes the BCB it processed; what is left is a valid bundle on its own.
    expect(plain.blocks.some((b) => b.type === BlockType.confidentiality)).toBe(false);
    expect(decodeBundle(plain.bytes).blocks.map((b) => b.number)).toEqual(plain.blocks.map((b) => b.number));
  });

  it('A.3 verifies its primary-block target only through the byte-string form the published vector used', () => {
    const v = vectors[2]!;
    const results = verifyIntegrity(decryptBundle(decodeBundle(v.bytes), v.keys).bundle, v.keys);
    expect(results.find((r) => r.target === 0)?.note).toMatch(/A\.3/);
    expect(results.find((r) => r.target === 2)?.note).toBeUndefined();
  });

  it('without keys every operation is reported as no-key, and nothing is decrypted', () => {
    for (const v of vectors) {
      const bundle = decodeBundle(v.bytes);
      const { bundle: same, results } = decryptBundle(bundle, []);
      expect(same).toBe(bundle);
      expect(results.every((r) => r.status === 'no-key')).toBe(true);
      expect(verifyIntegrity(bundle, []).every((r) => r.status === 'no-key' || r.status === 'encrypted')).toBe(true);
    }
  });

  it('detects tampering with each vector: payload, ciphertext, tag, wrapped key', () => {
    const [a1, a2, , a4] = vectors;
    const signed = decodeBundle(a1!.bytes);
    expectBundleError(() => verifyIntegrity(forge(signed, 1, flip), a1!.keys), 'BPSEC_INTEGRITY');
    const encrypted = decodeBundle(a2!.bytes);
    expectBundleError(() => decryptBundle(forge(encrypted, 1, (d) => flip(d, 5)), a2!.keys), 'BPSEC_CONFIDENTIALITY');
    // The BCB's ASB ends with the 16-byte tag; its wrapped key sits before the AAD scope parameter.
    expectBundleError(() => decryptBundle(forge(encrypted, 2, (d) => flip(d, d.length - 1)), a2!.keys), 'BPSEC_CONFIDENTIALITY');
    const wrapAt = Buffer.from(encrypted.blocks[0]!.data).indexOf(Buffer.from('69c41127', 'hex'));
    expectBundleError(() => decryptBundle(forge(encrypted, 2, (d) => flip(d, wrapAt + 3)), a2!.keys), 'BPSEC_CONFIDENTIALITY', 'asb.parameters.wrappedKey');
    // A.4: the BIB is encrypted too; tampering with its ciphertext fails the shared BCB.
    const both = decodeBundle(a4!.bytes);
    const err = expectBundleError(() => decryptBundle(forge(both, 3, flip), a4!.keys), 'BPSEC_CONFIDENTIALITY');
    expect(err.statusReason).toBe(StatusReason.failedSecurityOperation);
    expect(err.block?.number).toBe(2);
  });

  it('a wrong key of the right kind fails the operation; a key for another source is not used', () => {
    const a1 = vectors[0]!;
    const wrong = parseKeys([{ kty: 'oct', kid: 'ipn:2.1', alg: 'HS512', k: b64(16) }], 'wrong');
    expectBundleError(() => verifyIntegrity(decodeBundle(a1.bytes), wrong), 'BPSEC_INTEGRITY', 'asb.results[0]');
    const elsewhere = parseKeys([{ ...(a1.keysJwk[0] as object), kid: 'ipn:9.9' }], 'elsewhere');
    expect(statuses(verifyIntegrity(decodeBundle(a1.bytes), elsewhere))).toEqual(['integrity:2->1:no-key']);
  });
});

describe('signing and verifying (BIB-HMAC-SHA2)', () => {
  const plain = (): Bundle => sampleBundle();
  const cases = [
    ['HS256 direct', { alg: 'HS256', k: b64(32) }],
    ['HS384 direct', { alg: 'HS384', k: b64(48) }],
    ['HS512 direct', { alg: 'HS512', k: b64(64) }],
    ['A128KW-wrapped HMAC key', { alg: 'A128KW', k: b64(16) }],
    ['A256KW-wrapped HMAC key', { alg: 'A256KW', k: b64(32) }],
  ] as const;

  it.each(cases)('%s round-trips over the primary, payload and hop count blocks with every scope', (_name, jwk) => {
    const k = key(jwk);
    for (let scope = 0; scope < 8; scope++) {
      const signed = signBundle(plain(), { key: k, source: SOURCE, targets: [0, 1, 4], scope });
      const received = decodeBundle(signed.bytes);
      expect(statuses(verifyIntegrity(received, [k]))).toEqual(['integrity:7->0:verified', 'integrity:7->1:verified', 'integrity:7->4:verified']);
      expect(verifyIntegrity(received, [k]).every((r) => r.note === undefined)).toBe(true);
    }
  });

  it('detects a changed payload, a changed primary block when in scope, and a changed target header', () => {
    const k = key({ alg: 'HS256', k: b64(32) });
    const signed = decodeBundle(signBundle(plain(), { key: k, source: SOURCE, targets: [1], scope: 0x3 }).bytes);
    expectBundleError(() => verifyIntegrity(forge(signed, 1, (d) => flip(d, 100)), [k]), 'BPSEC_INTEGRITY');
    const longer = encodePrimary({ ...signed.primary, lifetime: signed.primary.lifetime + 1 });
    expectBundleError(() => verifyIntegrity(decodeBundle(assembleBundle(longer, signed.blocks).bytes), [k]), 'BPSEC_INTEGRITY');
    const payload = payloadBlock(signed);
    const reflagged = encodeBlock({ ...payload, flags: payload.flags | BlockFlag.replicate });
    expectBundleError(() => verifyIntegrity(decodeBundle(assembleBundle(signed.primary, [...signed.blocks.slice(0, -1), reflagged]).bytes), [k]), 'BPSEC_INTEGRITY');
  });

  it('refuses to sign security blocks, encrypted blocks, missing blocks, or twice', () => {
    const k = key({ alg: 'HS256', k: b64(32) });
    const signed = signBundle(plain(), { key: k, source: SOURCE, targets: [1] });
    expectBundleError(() => signBundle(signed, { key: k, source: SOURCE, targets: [1] }), 'BUNDLE_SECURITY', 'targets');
    expectBundleError(() => signBundle(signed, { key: k, source: SOURCE, targets: [7] }), 'BUNDLE_SECURITY', 'targets');
    expectBundleError(() => signBundle(plain(), { key: k, source: SOURCE, targets: [99] }), 'BUNDLE_SECURITY', 'targets');
    const cek = key({ alg: 'dir', enc: 'A128GCM', k: b64(16) });
    const encrypted = encryptBundle(plain(), { key: cek, source: SOURCE, targets: [1] });
    expectBundleError(() => signBundle(encrypted, { key: k, source: SOURCE, targets: [1] }), 'BUNDLE_SECURITY', 'targets');
    expectBundleError(() => signBundle(plain(), { key: key({ alg: 'HS256', k: b64(32), key_ops: ['verify'] }), source: SOURCE, targets: [1] }), 'BPSEC_KEY');
  });
});

describe('encrypting and decrypting (BCB-AES-GCM)', () => {
  const cases = [
    ['A128GCM direct', { alg: 'dir', enc: 'A128GCM', k: b64(16) }],
    ['A256GCM direct', { enc: 'A256GCM', k: b64(32) }],
    ['A128GCM under A128KW', { alg: 'A128KW', enc: 'A128GCM', k: b64(16) }],
    ['A256GCM under A256KW', { alg: 'A256KW', enc: 'A256GCM', k: b64(32) }],
  ] as const;

  it.each(cases)('%s round-trips the payload and an extension block with every AAD scope', (_name, jwk) => {
    const k = key(jwk);
    const original = sampleBundle();
    for (let scope = 0; scope < 8; scope++) {
      const encrypted = decodeBundle(encryptBundle(original, { key: k, source: SOURCE, targets: [1, 2], aadScope: scope }).bytes);
      expect([...encrypted.encrypted].sort()).toEqual([1, 2]);
      expect(encrypted.previousNode).toBeUndefined();
      expect(Buffer.from(payloadBlock(encrypted).data).equals(Buffer.from(payloadBlock(original).data))).toBe(false);
      // One BCB per target, each with its own IV; the one over the payload is replicated.
      const bcbs = encrypted.blocks.filter((b) => b.type === BlockType.confidentiality);
      expect(bcbs.map((b) => b.flags & BlockFlag.replicate)).toEqual([BlockFlag.replicate, 0]);
      const { bundle: back, results } = decryptBundle(encrypted, [k]);
      expect(statuses(results)).toEqual(['confidentiality:7->1:decrypted', 'confidentiality:8->2:decrypted']);
      expect(Buffer.from(back.bytes).equals(Buffer.from(original.bytes))).toBe(true);
    }
  });

  it('sign then encrypt takes the BIB along (RFC 9172 3.9); decrypt then verify restores both', () => {
    const hk = key({ alg: 'HS384', k: b64(48) });
    const ck = key({ alg: 'A128KW', enc: 'A128GCM', k: b64(16) });
    const signed = signBundle(sampleBundle(), { key: hk, source: SOURCE, targets: [1] });
    const sealed = decodeBundle(encryptBundle(signed, { key: ck, source: SOURCE, targets: [1] }).bytes);
    expect([...sealed.encrypted].sort()).toEqual([1, 7]);
    expect(verifyIntegrity(sealed, [hk]).map((r) => r.status)).toEqual(['encrypted']);
    const { bundle: opened } = decryptBundle(sealed, [ck]);
    expect(statuses(verifyIntegrity(opened, [hk]))).toEqual(['integrity:7->1:verified']);
    expect(Buffer.from(opened.bytes).equals(Buffer.from(signed.bytes))).toBe(true);
  });

  it('refuses targets RFC 9172 forbids, and a BIB it would have to split', () => {
    const ck = key({ enc: 'A128GCM', k: b64(16) });
    expectBundleError(() => encryptBundle(sampleBundle(), { key: ck, source: SOURCE, targets: [0] }), 'BUNDLE_SECURITY', 'targets');
    const once = encryptBundle(sampleBundle(), { key: ck, source: SOURCE, targets: [1] });
    expectBundleError(() => encryptBundle(once, { key: ck, source: SOURCE, targets: [1] }), 'BUNDLE_SECURITY', 'targets');
    expectBundleError(() => encryptBundle(once, { key: ck, source: SOURCE, targets: [7] }), 'BUNDLE_SECURITY', 'targets');
    const signed = signBundle(sampleBundle(), { key: key({ alg: 'HS256', k: b64(32) }), source: SOURCE, targets: [1, 3] });
    expectBundleError(() => encryptBundle(signed, { key: ck, source: SOURCE, targets: [1] }), 'BUNDLE_SECURITY', 'targets');
    expectBundleError(() => encryptBundle(sampleBundle(), { key: key({ enc: 'A256GCM', k: b64(32) }), source: SOURCE, targets: [1], variant: 1 }), 'BPSEC_KEY');
  });
});

describe('RFC 9172 targeting rules are checked at decode', () => {
  const base = (): Bundle => createBundle({ destination: ipn(2, 1), source: ipn(1, 0), creationTime: T0, lifetime: 60_000, payload: payloadOf(40) });
  const withSecurity = (type: number, flags: number, targets: number[], number = 5): Uint8Array => {
    const b = base();
    const asb = encodeAsb({ targets, contextId: type === BlockType.integrity ? 1 : 2, source: ipn(1, 0), parameters: [], results: targets.map(() => [{ id: 1, value: new Uint8Array(16) }]) });
    const blocks = [...b.blocks];
    blocks.splice(0, 0, encodeBlock({ type, number, flags, crcType: 0, data: asb }));
    return assembleBundle(b.primary, blocks).bytes;
  };

  it.each([
    ['a BCB over the primary block', () => withSecurity(12, 1, [0])],
    ['a BCB over the payload without the replicate flag', () => withSecurity(12, 0, [1])],
    ['a discardable BCB', () => withSecurity(12, 1 | BlockFlag.discardIfUnprocessed, [1])],
    ['a target that is not in the bundle', () => withSecurity(11, 0, [9])],
    ['a target listed twice', () => withSecurity(11, 0, [1, 1])],
    ['a BIB over itself', () => withSecurity(11, 0, [5])],
    ['a BCB over itself', () => withSecurity(12, 1, [5])],
  ])('rejects %s', (_name, make) => {
    // assembleBundle runs the same checks as decode, so the typed error surfaces when building.
    expectBundleError(make, 'BUNDLE_SECURITY');
  });
});
