// The envelope codec: round trip, and every malformed input ends in MalformedEnvelope (a fuzz
// of random and truncated inputs never throws anything else); CBOR outside the envelope's bounds
// (a bignum, any tag, a map, nesting, items) is refused before cbor-x decodes it; co-signing an
// existing envelope.
import { randomBytes } from 'node:crypto';
import { Decoder, Encoder } from 'cbor-x';
import { describe, expect, it, vi } from 'vitest';
import { commandContext, cosignEnvelope, decodeEnvelope, encodeBody, keyId, MAX_ENVELOPE_BYTES, MAX_SIGNATURES } from '../../flight/cmd/envelope.js';
import { CosignRefused, EnvelopeOutOfBounds, MalformedEnvelope } from '../../flight/cmd/errors.js';
import { dsa, envelope, NODE, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1);
const B = testOperator(2);
const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

describe('command envelope', () => {
  it('decodes what it encodes; every signature verifies under the target context only', () => {
    const bytes = envelope({ command: 'PING', args: [7], seq: 3, signers: [A, B] });
    const decoded = decodeEnvelope(bytes);
    expect(decoded.body).toEqual({ version: 1, target: NODE, operator: 1, seq: 3, expiryMs: T0_MS + 600_000, opcode: 0x0502, args: [7] });
    expect(decoded.signatures.map((s) => s.operator)).toEqual([1, 2]);
    expect(Buffer.from(decoded.signatures[1]!.keyId)).toEqual(Buffer.from(keyId(B.publicKey)));
    expect(dsa.verify(A.publicKey, decoded.bodyBytes, decoded.signatures[0]!.signature, commandContext(NODE))).toBe(true);
    expect(dsa.verify(A.publicKey, decoded.bodyBytes, decoded.signatures[0]!.signature, commandContext(NODE + 1))).toBe(false);
    expect(new TextDecoder().decode(commandContext(NODE))).toBe('tern-cmd-v1:7');
  });

  it('cosignEnvelope appends signatures over the same body bytes and keeps the ones there byte for byte', () => {
    const first = envelope({ command: 'SET_MODE', args: ['NOMINAL'], seq: 4, signers: [A] });
    const C = testOperator(3);
    const cosigned = cosignEnvelope(dsa, first, [B, C]);
    const [firstBody, firstSignatures] = cbor.decode(first) as [Uint8Array, unknown[]];
    const decoded = decodeEnvelope(cosigned);
    expect(Buffer.from(decoded.bodyBytes).equals(Buffer.from(firstBody))).toBe(true);
    expect(decoded.signatures.map((s) => s.operator)).toEqual([1, 2, 3]);
    // The same encoding signEnvelope gives: only the new entries differ from the input.
    const [, signatures] = cbor.decode(cosigned) as [Uint8Array, unknown[]];
    expect(Buffer.from(cbor.encode([firstBody, [firstSignatures[0], signatures[1], signatures[2]]])).equals(Buffer.from(cosigned))).toBe(true);
    expect(Buffer.from(cbor.encode(signatures[0])).equals(Buffer.from(cbor.encode(firstSignatures[0])))).toBe(true);
    for (const [i, op] of [A, B, C].entries()) {
      expect(Buffer.from(decoded.signatures[i]!.keyId)).toEqual(Buffer.from(keyId(op.publicKey)));
      expect(dsa.verify(op.publicKey, decoded.bodyBytes, decoded.signatures[i]!.signature, commandContext(NODE)), `operator ${op.operator}`).toBe(true);
    }
  });

  it('cosignEnvelope refuses an operator who signed, more than MAX_SIGNATURES, and a malformed envelope', () => {
    const first = envelope({ command: 'PING', args: [1], seq: 5, signers: [A, B] });
    expect(() => cosignEnvelope(dsa, first, [A])).toThrow(new CosignRefused('operator 1 has already signed this command'));
    expect(() => cosignEnvelope(dsa, envelope({ command: 'PING', args: [1], seq: 6, signers: [A] }), [B, B])).toThrow(/operator 2 has already signed/);
    const others = Array.from({ length: MAX_SIGNATURES - 2 }, (_, i) => testOperator(10 + i));
    const full = cosignEnvelope(dsa, first, others);
    expect(decodeEnvelope(full).signatures).toHaveLength(MAX_SIGNATURES);
    expect(() => cosignEnvelope(dsa, full, [testOperator(3)])).toThrow(new CosignRefused(`${MAX_SIGNATURES} + 1 signatures exceed the ${MAX_SIGNATURES} an envelope holds`));
    expect(() => cosignEnvelope(dsa, first.subarray(0, 50), [testOperator(3)])).toThrow(MalformedEnvelope);
  });

  it('rejects structural problems with a message naming them', () => {
    const body = encodeBody({ target: NODE, operator: 1, seq: 1, expiryMs: T0_MS, opcode: 0x0501, args: [] });
    const sig = [1, keyId(A.publicKey), new Uint8Array(3309)];
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(MAX_ENVELOPE_BYTES + 1), /exceeds/],
      [cbor.encode([body]), /array of 2/],
      [cbor.encode(['text', [sig]]), /body must be a byte string/],
      [cbor.encode([body, [sig, sig]]), /signs more than once/],
      [cbor.encode([body, [[1, new Uint8Array(4), new Uint8Array(1)]]]), /key id must be 8 bytes/],
      [cbor.encode([cbor.encode([1, NODE, -1, 1, T0_MS, 0x501, []]), [sig]]), /operator must be an unsigned integer/],
      [cbor.encode([cbor.encode([1, NODE, 1, 2 ** 64, T0_MS, 0x501, []]), [sig]]), /seq must be an unsigned integer/],
      [cbor.encode([cbor.encode([1, NODE, 1, 1, T0_MS, 0x10000, []]), [sig]]), /opcode/],
      [cbor.encode([cbor.encode([1, NODE, 1, 1, T0_MS, 0x501, 'x']), [sig]]), /args must be an array/],
      [Uint8Array.of(...cbor.encode([body, [sig]]), 0x00), /bytes after the item/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeEnvelope(bytes)).toThrow(message);
    }
  });

  it('the 40 KB bignum of issue 9 (c2 59 9c40, then 40,000 bytes of ff) is refused before cbor-x decodes anything', () => {
    const bignum = Uint8Array.of(0xc2, 0x59, 0x9c, 0x40, ...new Uint8Array(40_000).fill(0xff));
    // Inside a well-formed envelope too, as the argument of a PING.
    const [body, signatures] = cbor.decode(envelope({ command: 'PING', args: [7], seq: 3, signers: [A] })) as [Uint8Array, unknown[]];
    const inArgs = cbor.encode([Uint8Array.of(...body.subarray(0, body.length - 2), 0x81, ...bignum), signatures]);
    const decode = vi.spyOn(Decoder.prototype, 'decode');
    try {
      expect(() => decodeEnvelope(bignum)).toThrow(EnvelopeOutOfBounds);
      expect(() => decodeEnvelope(bignum)).toThrow(/a tag \(2, a bignum\)/);
      expect(decode).not.toHaveBeenCalled();
      expect(() => decodeEnvelope(inArgs)).toThrow(EnvelopeOutOfBounds);
      // Only the outer envelope (within its bounds) reached cbor-x, never the body.
      expect(decode).toHaveBeenCalledTimes(1);
    } finally {
      decode.mockRestore();
    }
  });

  it('refuses what no envelope holds, before decoding: tags, maps, indefinite lengths, nesting, too many items', () => {
    const sig = [1, new Uint8Array(8), new Uint8Array(3309)];
    const body = encodeBody({ target: NODE, operator: 1, seq: 1, expiryMs: T0_MS, opcode: 0x501, args: [] });
    const withArgs = (args: Uint8Array): Uint8Array => cbor.encode([Uint8Array.of(...body.subarray(0, body.length - 1), ...args), [sig]]);
    const cases: Array<[Uint8Array, RegExp]> = [
      [Uint8Array.of(0xc3, 0x41, 0x01), /a tag \(3, a bignum\)/],
      [withArgs(Uint8Array.of(0x81, 0xc1, 0x00)), /a tag \(1\)/],
      [withArgs(Uint8Array.of(0x81, 0xd8, 0x40, 0x40)), /a tag \(64\)/],
      [withArgs(Uint8Array.of(0x81, 0xa1, 0x00, 0x00)), /a map/],
      [withArgs(Uint8Array.of(0x9f, 0xff)), /an indefinite length/],
      [withArgs(Uint8Array.of(0x81, 0x81, 0x81, 0x00)), /nesting deeper than 3/],
      [withArgs(Uint8Array.of(0x98, 200, ...new Uint8Array(200))), /exceeds the bytes or items left/],
      [withArgs(Uint8Array.of(0x81, 0xf0)), /unassigned simple value/],
      [withArgs(Uint8Array.of(0x81, 0x7a, 0xff, 0xff, 0xff, 0xff)), /a string of 4294967295 bytes/],
    ];
    for (const [bytes, reason] of cases) {
      let caught: unknown;
      try {
        decodeEnvelope(bytes);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(reason)).toBeInstanceOf(EnvelopeOutOfBounds);
      expect((caught as Error).message).toMatch(reason);
    }
  });

  it('fuzz: random bytes, truncations and bit flips only ever throw MalformedEnvelope', () => {
    const valid = envelope({ command: 'PING', args: [7], seq: 3, signers: [A] });
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) inputs.push(randomBytes(1 + (i % 64)));
    for (let cut = 0; cut < valid.length; cut += 37) inputs.push(valid.subarray(0, cut));
    for (let i = 0; i < 300; i++) {
      const flipped = Uint8Array.from(valid);
      flipped[(i * 7919) % 64]! ^= 1 << (i % 8); // the CBOR heads and body live in the first bytes
      inputs.push(flipped);
    }
    for (const input of inputs) {
      try {
        decodeEnvelope(input);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedEnvelope);
      }
    }
  });
});
