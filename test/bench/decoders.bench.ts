// The worst case of every decoder that reads link input on the frame thread, each against a
// normal input of the same size decoded in the same run: the bundle codec (ingest), the command
// envelope and body (cmd.dispatch), a stored sequence (read in cmd.dispatch before the upload's
// signature is checked, to tell whether it is critical), session handshake messages (delivery)
// and downlink records (the ground console). Hostile inputs: the 40 KB CBOR bignum of issue 9,
// other tags, nesting, item counts, 64 blocks, a security block of opaque nested parameters.
// Each figure is the median time of one decode (or of its refusal), in microseconds; the ratio
// is the worst hostile input over the normal one. The cbor-x decode of the bignum (what the
// envelope decoder did before the bounds check) is measured as a reference.
// Acceptance: no hostile input costs more than 4x the normal input of its size plus 50 us (what
// building a typed error with its stack costs: it dominates a refusal, and a normal handshake
// decodes in 2 us), and none on a frame thread more than 1 ms, a tenth of a 10 ms minor frame.
// TERN_BENCH_ROUND_MS lengthens each measurement.
import { Decoder, Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { CommandRegistry } from '../../flight/cmd/commands.js';
import { CMD_COMMANDS } from '../../flight/cmd/dictionary.js';
import { encodeDownlink } from '../../flight/tlm/downlink-items.js';
import { decodeDownlink } from '../../gse/tlm.js';
import { decodeEnvelope, encodeBody, MAX_SIGNATURES } from '../../flight/cmd/envelope.js';
import { decodeSequence, encodeSequence } from '../../flight/cmd/sequence.js';
import { decodeHandshake } from '../../flight/cmd/session.js';
import { BlockType, CRC_32C, dtnNow } from '../../flight/dtn/bundle.js';
import { cborHead, cborHeadLength, concatBytes, encodeCbor } from '../../flight/dtn/cbor.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { writeResult } from './results.js';

const ROUND_MS = Number(process.env.TERN_BENCH_ROUND_MS ?? 40);
const ROUNDS = 7;
const ERROR_ALLOWANCE_US = 50;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const bytesOf = (n: number, seed: string): Uint8Array => {
  const out = new Uint8Array(n);
  for (let at = 0, i = 0; at < n; i++) {
    const block = createHash('sha256').update(`${seed} ${i}`).digest();
    out.set(block.subarray(0, Math.min(32, n - at)), at);
    at += 32;
  }
  return out;
};
const copy = (b: Uint8Array): Uint8Array => Uint8Array.from(b);

/** Median microseconds of one call of `decode` on `input` (a throw counts as done). */
function time(decode: (input: Uint8Array) => unknown, input: Uint8Array): number {
  const once = (): void => {
    try {
      decode(input);
    } catch {
      // The refusal is the outcome measured.
    }
  };
  for (let i = 0; i < 20; i++) once();
  const perCall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ROUND_MS) {
      once();
      n++;
      now = performance.now();
    }
    perCall.push(((now - start) * 1000) / n);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(ROUNDS / 2)]!;
}

/** `n` bytes of CBOR: a bignum whose magnitude fills the rest (issue 9: c2 59 9c40 ff...). */
function bignum(n: number): Uint8Array {
  const head = concatBytes([Uint8Array.of(0xc2), cborHead(2, n - 4 < 0x10000 ? n - 4 : n - 6)]);
  return concatBytes([head, new Uint8Array(n - head.length).fill(0xff)]);
}

/** `n` bytes: arrays of one element nested as deep as the bytes go, a 0 at the bottom. */
const deep = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 0 : 0x81));

/** About `n` bytes: one array of zeros, its head in preferred serialization. */
function items(n: number): Uint8Array {
  let count = n - 1;
  while (cborHeadLength(count) + count > n) count--;
  return concatBytes([cborHead(4, count), new Uint8Array(count)]);
}

interface Decoder_ {
  /** Whether it runs on a flight node's frame thread (the downlink decoder runs in the ground console). */
  readonly frameThread: boolean;
  readonly decode: (input: Uint8Array) => unknown;
  readonly normal: Uint8Array;
  readonly hostile: Record<string, Uint8Array>;
}

function envelopeCase(): Decoder_ {
  // The largest envelope a node takes: a SEQ_UPLOAD of 16 KiB with eight signatures.
  // Copies throughout: cbor-x encodes into one buffer that its next encoding overwrites.
  const body = copy(encodeBody({ target: 20, operator: 1, seq: 7, expiryMs: Date.now() + 600_000, opcode: 0x0520, args: [0, bytesOf(16_384, 'seq')] }));
  const signatures = Array.from({ length: MAX_SIGNATURES }, (_, i) => [i + 1, bytesOf(8, `kid ${i}`), bytesOf(3309, `sig ${i}`)]);
  const normal = copy(cbor.encode([body, signatures]));
  const n = normal.length;
  // The body of a NOOP whose argument list holds `inner`, signed once.
  const noop = copy(encodeBody({ target: 20, operator: 1, seq: 7, expiryMs: Date.now() + 600_000, opcode: 0x0501, args: [] }));
  const inBody = (inner: Uint8Array): Uint8Array => copy(cbor.encode([concatBytes([noop.subarray(0, noop.length - 1), Uint8Array.of(0x81), inner]), signatures.slice(0, 1)]));
  return {
    frameThread: true,
    decode: decodeEnvelope,
    normal,
    hostile: {
      bignum: bignum(n),
      bignumInArgs: inBody(bignum(n - 3309 - 60)),
      nesting: deep(n),
      items: items(n),
    },
  };
}

function sequenceCase(): Decoder_ {
  const registry = new CommandRegistry();
  registry.declare(CMD_COMMANDS);
  registry.bind('GET_PARAM', { handler: () => undefined });
  const param = 'p'.repeat(60);
  const normal = encodeSequence('stop', Array.from({ length: 200 }, (_, i) => ({ timing: 'rel' as const, timeMs: 1000 + i, opcode: 0x0511, args: [param] })));
  const n = normal.length;
  return {
    frameThread: true,
    decode: (bytes) => decodeSequence(bytes, registry),
    normal: copy(normal),
    hostile: { bignum: bignum(n), nesting: deep(n), items: items(n) },
  };
}

function handshakeCase(): Decoder_ {
  // An offer: ML-KEM-768 encapsulation key (1,184 bytes), ML-DSA-65 signature (3,309 bytes).
  const body = cbor.encode(['offer', 1, 20, 10, 1_700_000_000_000, Date.now(), bytesOf(1184, 'ek')]);
  const normal = copy(cbor.encode([copy(body), bytesOf(3309, 'sig')]));
  const n = normal.length;
  return {
    frameThread: true,
    decode: decodeHandshake,
    normal,
    hostile: { bignum: bignum(n), bignumAsBody: copy(cbor.encode([bignum(n - 3320), bytesOf(3309, 'sig')])), nesting: deep(n), items: items(n) },
  };
}

function downlinkCase(): Decoder_ {
  const channels = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`sub.channel${i}`, i * 1.5]));
  const record = encodeDownlink({ kind: 'hk', record: { node: 20, seq: 1, timeMs: Date.now(), mode: 'NOMINAL', channels } as never });
  const normal = concatBytes(Array.from({ length: Math.ceil(40_000 / record.length) }, () => copy(record)));
  const n = normal.length;
  return { frameThread: false, decode: decodeDownlink, normal, hostile: { bignum: bignum(n), nesting: deep(n), items: items(n) } };
}

function bundleCase(): Decoder_ {
  const size = 40_000;
  const base = { destination: ipn(20, 1), source: ipn(100, 1), creationTime: dtnNow(), sequence: 1, lifetime: 600_000, crcType: CRC_32C } as const;
  const normal = createBundle({ ...base, payload: bytesOf(size, 'payload') }).bytes;
  // 63 extension blocks of a type nobody reads, each with its CRC-32C, then a small payload.
  const manyBlocks = createBundle({
    ...base,
    blocks: Array.from({ length: 63 }, (_, i) => ({ type: 200 + i, data: bytesOf(Math.floor(size / 64) - 16, `b${i}`), crcType: CRC_32C })),
    payload: bytesOf(size / 64, 'p'),
  }).bytes;
  // A BIB of an unknown context whose 32 parameters are opaque values the reader skips: as many
  // items as it accepts (64 in all), and (refused) arrays as deep and as wide as the bytes allow.
  const bib = (opaque: Uint8Array): Uint8Array => {
    const parameters = concatBytes([cborHead(4, 32), ...Array.from({ length: 32 }, (_, i) => concatBytes([Uint8Array.of(0x82), encodeCbor(i), opaque]))]);
    const asb = concatBytes([encodeCbor([1]), encodeCbor(99), encodeCbor(1), encodeCbor([2, [100, 0]]), parameters, encodeCbor([[[1, new Uint8Array(32)]]])]);
    // Assembled by hand: the bundle builder would refuse the wide one.
    const { primary, blocks } = createBundle({ ...base, payload: new Uint8Array(16) });
    return concatBytes([Uint8Array.of(0x9f), primary.bytes, encodeCbor([BlockType.integrity, 2, 0, 0, asb]), blocks[blocks.length - 1]!.bytes, Uint8Array.of(0xff)]);
  };
  const nested = (depth: number, width: number): Uint8Array => concatBytes([...Array.from({ length: depth }, () => Uint8Array.of(0x81)), items(width + 3)]);
  const opaqueBibAccepted = bib(Uint8Array.of(0x81, 0x00));
  const opaqueBibRefused = bib(nested(14, Math.floor(size / 32) - 14));
  return { frameThread: true, decode: (bytes) => decodeBundle(bytes), normal, hostile: { manyBlocks, opaqueBibAccepted, opaqueBibRefused } };
}

it('worst case of every link-input decoder against a normal input of the same size', () => {
  const cases: Record<string, Decoder_> = {
    bundle: bundleCase(),
    envelope: envelopeCase(),
    sequence: sequenceCase(),
    handshake: handshakeCase(),
    downlink: downlinkCase(),
  };
  const figures: Record<string, unknown> = {};
  let worstRatio = 0;
  let worstUs = 0;
  let withinAllowance = true;
  for (const [name, c] of Object.entries(cases)) {
    const normalUs = time(c.decode, c.normal);
    const hostile = Object.fromEntries(Object.entries(c.hostile).map(([h, input]) => [h, { bytes: input.length, us: time(c.decode, input) }]));
    const [worstName, worst] = Object.entries(hostile).sort((a, b) => b[1].us - a[1].us)[0]!;
    const ratio = worst.us / normalUs;
    worstRatio = Math.max(worstRatio, ratio);
    if (c.frameThread) worstUs = Math.max(worstUs, worst.us);
    withinAllowance &&= worst.us <= 4 * normalUs + ERROR_ALLOWANCE_US;
    figures[name] = { frameThread: c.frameThread, normal: { bytes: c.normal.length, us: normalUs }, hostile, worst: worstName, ratio };
  }
  const plain = new Decoder({ useRecords: false, mapsAsObjects: true });
  const reference = { input: 'c2 59 9c40 + 40,000 x ff', cborXDecodeUs: time((b) => plain.decode(b), bignum(40_004)) };
  writeResult('decoders', {
    command: 'npm run bench -- test/bench/decoders.bench.ts',
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    baseline: 'each decoder on a normal input of the same size, same run',
    decoders: figures,
    unboundedReference: reference,
    worstRatio,
    worstUs,
    withinAllowance,
    targets: { hostileUs: `<= 4 x normal + ${ERROR_ALLOWANCE_US}`, worstUs: 1000 },
  });
  expect(withinAllowance).toBe(true);
  expect(worstUs).toBeLessThanOrEqual(1000);
});
