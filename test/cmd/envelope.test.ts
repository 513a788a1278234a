// The envelope codec: round trip, and every malformed input ends in MalformedEnvelope (a fuzz
// of random and truncated inputs never throws anything else).
import { randomBytes } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { commandContext, decodeEnvelope, encodeBody, keyId, MAX_ENVELOPE_BYTES } from '../../flight/cmd/envelope.js';
import { MalformedEnvelope } from '../../flight/cmd/errors.js';
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
      [Uint8Array.of(...cbor.encode([body, [sig]]), 0x00), /not one well-formed CBOR item/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeEnvelope(bytes)).toThrow(message);
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
