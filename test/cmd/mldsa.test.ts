// ML-DSA backends against the NIST ACVP sigVer vectors (all 180 tests, read in place), and a
// cross test that signs with one backend and verifies with the other.
//
// noble covers every group: pure and HashML-DSA through the external interface, and the internal
// interface with and without external mu. node:crypto exposes only pure ML-DSA with a context
// string, so it runs the pure external groups only (3 of 12). Where this runtime has no ML-DSA
// in node:crypto (Node 20) those tests are skipped; .ci/run runs the whole suite on Node 24 as
// well, with TERN_REQUIRE_NODE_MLDSA=1, so there they must run (and pass).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mlDsa, NobleMlDsa, NodeMlDsa, nodeHasMlDsa, type MlDsa, type MlDsaParameterSet } from '../../flight/cmd/mldsa.js';
import { hex, loadAcvp } from './support/acvp.js';

interface SigVerTest {
  pk: string;
  message?: string;
  mu?: string;
  context?: string;
  hashAlg?: string;
  signature: string;
}

const GROUPS = loadAcvp<SigVerTest>('ML-DSA-sigVer-FIPS204');
const NODE_NAME = 'node:crypto backend';
/** Set in the Node 24 child: a missing node:crypto ML-DSA is then a failure, not a skip. */
const REQUIRE_NODE = process.env.TERN_REQUIRE_NODE_MLDSA === '1';

// FIPS 204 Algorithm 4 (HashML-DSA.Sign) line 18-22: the hash function's DER OID and its digest.
const PRE_HASH: Record<string, { oid: number; node: string; outputLength?: number }> = {
  'SHA2-256': { oid: 0x01, node: 'sha256' },
  'SHA2-384': { oid: 0x02, node: 'sha384' },
  'SHA2-512': { oid: 0x03, node: 'sha512' },
  'SHA2-224': { oid: 0x04, node: 'sha224' },
  'SHA2-512/224': { oid: 0x05, node: 'sha512-224' },
  'SHA2-512/256': { oid: 0x06, node: 'sha512-256' },
  'SHA3-224': { oid: 0x07, node: 'sha3-224' },
  'SHA3-256': { oid: 0x08, node: 'sha3-256' },
  'SHA3-384': { oid: 0x09, node: 'sha3-384' },
  'SHA3-512': { oid: 0x0a, node: 'sha3-512' },
  'SHAKE-128': { oid: 0x0b, node: 'shake128', outputLength: 32 },
  'SHAKE-256': { oid: 0x0c, node: 'shake256', outputLength: 64 },
};

/** M' = 1 || |ctx| || ctx || OID || PH(M), as HashML-DSA.Verify formats it. */
function hashMlDsaMessage(test: SigVerTest): Uint8Array {
  const hash = PRE_HASH[test.hashAlg!];
  if (!hash) throw new Error(`unknown ACVP hashAlg ${test.hashAlg}`);
  const context = hex(test.context!);
  const digest = createHash(hash.node, hash.outputLength === undefined ? {} : { outputLength: hash.outputLength })
    .update(hex(test.message!))
    .digest();
  const oid = Uint8Array.of(0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, hash.oid);
  return Buffer.concat([Uint8Array.of(1, context.length), context, oid, digest]);
}

function groupName(info: Record<string, unknown>): string {
  const mode = info.signatureInterface === 'external' ? `external ${info.preHash}` : `internal externalMu=${info.externalMu}`;
  return `${info.parameterSet} ${mode}`;
}

/** Runs a group with `verify`, returning each tcId whose outcome differs from the expected one. */
function mismatches(tests: (typeof GROUPS)[number]['tests'], verify: (t: SigVerTest) => boolean): number[] {
  return tests.filter((t) => verify(t) !== t.expected.testPassed).map((t) => t.tcId);
}

describe('noble backend: ACVP ML-DSA sigVer (all groups)', () => {
  for (const group of GROUPS) {
    it(`${groupName(group.info)}: ${group.tests.length} tests`, () => {
      const dsa = new NobleMlDsa(group.info.parameterSet as MlDsaParameterSet);
      const { signatureInterface, preHash, externalMu } = group.info;
      const verify = (t: SigVerTest): boolean => {
        if (signatureInterface === 'internal') {
          return dsa.verifyInternal(hex(t.pk), hex(externalMu ? t.mu! : t.message!), hex(t.signature), externalMu === true);
        }
        if (preHash === 'preHash') return dsa.verifyInternal(hex(t.pk), hashMlDsaMessage(t), hex(t.signature), false);
        return dsa.verify(hex(t.pk), hex(t.message!), hex(t.signature), hex(t.context!));
      };
      expect(mismatches(group.tests, verify)).toEqual([]);
      // A group where every test had the same expected outcome could pass with a constant answer.
      expect(new Set(group.tests.map((t) => t.expected.testPassed))).toEqual(new Set([true, false]));
    });
  }
});


/**
 * The valid pure external vectors, each also with its context made one byte too long (256) and
 * very long: FIPS 204 ML-DSA.Verify returns false for a context over 255 bytes (Wycheproof's
 * InvalidContext cases; their files are not in ../shared, so the ACVP signatures are reused).
 */
function invalidContextCases(): Array<{ set: MlDsaParameterSet; pk: Uint8Array; message: Uint8Array; signature: Uint8Array; context: Uint8Array }> {
  return GROUPS.filter((g) => g.info.signatureInterface === 'external' && g.info.preHash === 'pure')
    .flatMap((g) => g.tests.filter((t) => t.expected.testPassed === true).map((t) => ({
      set: g.info.parameterSet as MlDsaParameterSet, pk: hex(t.pk), message: hex(t.message!), signature: hex(t.signature), context: hex(t.context!),
    })));
}

function checkInvalidContexts(make: (set: MlDsaParameterSet) => MlDsa): void {
  const cases = invalidContextCases();
  // The boundary is exercised: some vectors carry a context of exactly 255 bytes.
  expect(cases.some((c) => c.context.length === 255)).toBe(true);
  for (const c of cases) {
    const dsa = make(c.set);
    expect(dsa.verify(c.pk, c.message, c.signature, c.context)).toBe(true);
    for (const context of [Buffer.concat([c.context, new Uint8Array(256 - c.context.length)]), new Uint8Array(70_000)]) {
      let verdict: boolean | Error;
      try {
        verdict = dsa.verify(c.pk, c.message, c.signature, context);
      } catch (error) {
        verdict = error as Error;
      }
      expect(verdict).toBe(false);
    }
  }
}

describe('noble backend: a context over 255 bytes', () => {
  it('is an invalid signature (false), never an exception', () => checkInvalidContexts((set) => new NobleMlDsa(set)));
});

const runNode = nodeHasMlDsa() || REQUIRE_NODE;

describe.runIf(runNode)(`${NODE_NAME}: ACVP ML-DSA sigVer`, () => {
  it('is available in this runtime', () => {
    expect(nodeHasMlDsa(), `Node ${process.version} OpenSSL ${process.versions.openssl}`).toBe(true);
  });
  it('is the default backend (Node 24 and later)', () => {
    expect(mlDsa('ML-DSA-65').backend).toBe('node');
  });
  // node:crypto has neither the internal interface, external mu, nor HashML-DSA: those groups
  // are noble's alone (above). The pure external groups are every parameter set's.
  const expressible = GROUPS.filter((g) => g.info.signatureInterface === 'external' && g.info.preHash === 'pure');
  it('covers the pure external group of every parameter set', () => {
    expect(expressible.map((g) => g.info.parameterSet).sort()).toEqual(['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87']);
  });
  it('a context over 255 bytes is an invalid signature (false), never an exception', () => checkInvalidContexts((set) => new NodeMlDsa(set)));
  for (const group of expressible) {
    const name = `${groupName(group.info)}: ${group.tests.length} tests`;
    it(name, () => {
      const dsa = new NodeMlDsa(group.info.parameterSet as MlDsaParameterSet);
      expect(mismatches(group.tests, (t) => dsa.verify(hex(t.pk), hex(t.message!), hex(t.signature), hex(t.context!)))).toEqual([]);
    });
  }
});

describe.runIf(runNode)(`${NODE_NAME}: cross test with noble`, () => {
  const message = new TextEncoder().encode('SET_MODE NOMINAL');
  const context = new TextEncoder().encode('tern-cmd-v1:7');
  const sets: MlDsaParameterSet[] = ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'];
  for (const set of sets) {
    it(`${set}: same seed gives the same public key; each verifies the other's signatures`, () => {
      const noble: MlDsa = new NobleMlDsa(set);
      const node: MlDsa = new NodeMlDsa(set);
      const seed = createHash('sha256').update(`cross ${set}`).digest();
      const publicKey = noble.publicKey(seed);
      expect(Buffer.from(node.publicKey(seed))).toEqual(Buffer.from(publicKey));

      const byNoble = noble.sign(seed, message, context);
      const byNode = node.sign(seed, message, context);
      expect(node.verify(publicKey, message, byNoble, context)).toBe(true);
      expect(noble.verify(publicKey, message, byNode, context)).toBe(true);
      // The other context (another spacecraft) and a changed message are refused by both.
      const other = new TextEncoder().encode('tern-cmd-v1:8');
      expect(node.verify(publicKey, message, byNoble, other)).toBe(false);
      expect(noble.verify(publicKey, message, byNode, other)).toBe(false);
      const changed = Uint8Array.from(message);
      changed[0]! ^= 1;
      expect(node.verify(publicKey, changed, byNoble, context)).toBe(false);
      expect(noble.verify(publicKey, changed, byNode, context)).toBe(false);
    });
  }
});
