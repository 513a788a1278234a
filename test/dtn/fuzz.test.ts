// Mutation fuzzing of the whole receive path. Every input is a valid bundle bent by bit flips,
// truncations, insertions, CBOR head changes (length and major type), block duplication, removal
// and reordering, and splices of two bundles. The path may accept an input or reject it with a
// BundleError; anything else (an untyped throw, a hang) fails the test with the input in hex.
// CI size: TERN_FUZZ_N (default 100000) inputs; a seed via TERN_FUZZ_SEED replays a run.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptBundle, encryptBundle, signBundle, verifyIntegrity } from '../../flight/dtn/bpsec.js';
import { BlockFlag, BundleFlag, type Bundle } from '../../flight/dtn/bundle.js';
import { BundleError } from '../../flight/dtn/bundle-error.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { DTN_CHANNELS } from '../../flight/dtn/dictionary.js';
import { withBundleAge, withHopIncremented, withPreviousNode } from '../../flight/dtn/edit.js';
import { ipn } from '../../flight/dtn/eid.js';
import { Reassembler, fragmentBundle } from '../../flight/dtn/fragment.js';
import { parseKeys, type SecurityKey } from '../../flight/dtn/keys.js';
import { checkHopLimit, checkLifetime, checkValidity, processUnknownBlocks } from '../../flight/dtn/policy.js';
import { createStatusReport, decodeStatusReport } from '../../flight/dtn/status-report.js';
import { BundleTelemetry } from '../../flight/dtn/telemetry.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { prngBelow as prng } from '../support/prng.js';
import { T0, hex, payloadOf, sampleBundle } from './helpers.js';
import { rfc9173Vectors } from './vectors.js';

const N = Number(process.env.TERN_FUZZ_N ?? 100_000);
const SEED = Number(process.env.TERN_FUZZ_SEED ?? 0x7e54);

/** Offsets of CBOR item heads in `bytes` (bundle structure, and CBOR inside byte strings). */
function heads(bytes: Uint8Array, start = 0, end = bytes.length, out: number[] = []): number[] {
  let pos = start;
  const item = (depth: number): void => {
    if (pos >= end || depth > 8) throw new Error('stop');
    const at = pos;
    out.push(at);
    const ib = bytes[pos++]!;
    const major = ib >> 5;
    const info = ib & 31;
    if (ib === 0x9f) {
      while (pos < end && bytes[pos] !== 0xff) item(depth + 1);
      pos++;
      return;
    }
    let n = info;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (info > 27) throw new Error('stop');
    if (width) n = Number(Buffer.from(bytes.subarray(pos, pos + width)).readUIntBE(Math.max(0, width - 6), Math.min(width, 6)));
    pos += width;
    if (major === 2) {
      const inner = heads(bytes, pos, Math.min(end, pos + n), []);
      out.push(...inner);
      pos += n;
    } else if (major === 3) pos += n;
    else if (major === 4) for (let i = 0; i < n; i++) item(depth + 1);
  };
  try {
    while (pos < end) item(0);
  } catch {
    // not CBOR from here on (a payload, say): the heads found so far are what we have
  }
  return out;
}

interface Seed {
  bytes: Uint8Array;
  heads: number[];
  /** [start, end) of each canonical block's encoding. */
  blocks: Array<[number, number]>;
}

function seedOf(bundle: Bundle): Seed {
  const base = bundle.bytes.byteOffset;
  return {
    bytes: Uint8Array.from(bundle.bytes),
    heads: heads(bundle.bytes),
    blocks: bundle.blocks.map((b) => [b.bytes.byteOffset - base, b.bytes.byteOffset - base + b.bytes.length]),
  };
}

const INTERESTING = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf9, 0xfa, 0xfb, 0xff];

function mutate(seeds: readonly Seed[], rnd: (n: number) => number): Uint8Array {
  const s = seeds[rnd(seeds.length)]!;
  let b: Uint8Array = s.bytes;
  const rounds = 1 + rnd(3);
  for (let k = 0; k < rounds; k++) {
    const pos = b.length === 0 ? 0 : rnd(b.length);
    const head = s.heads.length > 0 && s.heads[rnd(s.heads.length)]! < b.length ? s.heads[rnd(s.heads.length)]! : pos;
    const copy = Uint8Array.from(b);
    switch (rnd(10)) {
      case 0: // bit flips
        for (let i = 1 + rnd(3); i > 0 && copy.length > 0; i--) copy[rnd(copy.length)]! ^= 1 << rnd(8);
        b = copy;
        break;
      case 1: // truncation
        b = b.subarray(0, rnd(b.length + 1));
        break;
      case 2: { // insertion of random or interesting bytes
        const n = 1 + rnd(8);
        const ins = Uint8Array.from({ length: n }, () => (rnd(2) ? INTERESTING[rnd(INTERESTING.length)]! : rnd(256)));
        b = Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]);
        break;
      }
      case 3: // CBOR major type change at an item head
        if (head < copy.length) copy[head] = (copy[head]! & 0x1f) | (rnd(8) << 5);
        b = copy;
        break;
      case 4: // CBOR length change: new additional information, or the argument nudged
        if (head < copy.length) {
          if (rnd(2)) copy[head] = (copy[head]! & 0xe0) | [0, 1, 23, 24, 25, 26, 27, 28, 31][rnd(9)]!;
          else if (head + 1 < copy.length) copy[head + 1] = (copy[head + 1]! + (rnd(2) ? 1 : 255)) & 0xff;
        }
        b = copy;
        break;
      case 5: // an interesting byte at a head
        if (head < copy.length) copy[head] = INTERESTING[rnd(INTERESTING.length)]!;
        b = copy;
        break;
      case 6: { // block duplication (the block after itself, or before the payload)
        if (b !== s.bytes || s.blocks.length === 0) break;
        const [start, end] = s.blocks[rnd(s.blocks.length)]!;
        const at = rnd(2) ? end : s.blocks[s.blocks.length - 1]![0];
        b = Buffer.concat([b.subarray(0, at), b.subarray(start, end), b.subarray(at)]);
        break;
      }
      case 7: { // block removal or swap
        if (b !== s.bytes || s.blocks.length < 2) break;
        const i = rnd(s.blocks.length - 1);
        const [a0, a1] = s.blocks[i]!;
        const [b0, b1] = s.blocks[i + 1]!;
        b = rnd(2) ? Buffer.concat([b.subarray(0, a0), b.subarray(a1)])
          : Buffer.concat([b.subarray(0, a0), b.subarray(b0, b1), b.subarray(a0, a1), b.subarray(b1)]);
        break;
      }
      case 8: { // splice two bundles
        const other = seeds[rnd(seeds.length)]!.bytes;
        b = Buffer.concat([b.subarray(0, pos), other.subarray(rnd(other.length))]);
        break;
      }
      default: // an interesting byte anywhere
        if (copy.length > 0) copy[pos] = INTERESTING[rnd(INTERESTING.length)]!;
        b = copy;
    }
  }
  return b;
}

/** Tern's own output must always decode: a BundleError here is a bug, not a rejection. */
function mustDecode(bytes: Uint8Array, what: string): Bundle {
  try {
    return decodeBundle(bytes);
  } catch (err) {
    throw new Error(`Tern's own ${what} does not decode: ${String(err)}`);
  }
}

/** What a node does with a received bundle, end to end. Throws BundleError or returns. */
function receive(bytes: Uint8Array, keys: readonly SecurityKey[], reassembler: Reassembler): Bundle {
  const bundle = decodeBundle(bytes);
  // Byte-exact: what decodes re-encodes to what was received.
  if (hex(mustDecode(bundle.bytes, 're-encoding').bytes) !== hex(bytes)) throw new Error('re-decode changed the bytes');
  checkValidity(bundle, { requirePrimaryCrc: false, requireAgeWithoutClock: false });
  checkLifetime(bundle, T0, T0);
  checkHopLimit(bundle);
  const { bundle: known } = processUnknownBlocks(bundle);
  const { bundle: plain } = decryptBundle(known, keys);
  verifyIntegrity(plain, keys);
  if (plain.primary.flags & BundleFlag.adminRecord) decodeStatusReport(plain);
  const report = createStatusReport(plain, ['received'], 0, { source: ipn(99, 0), now: T0, sequence: 1, lifetime: 1000 });
  if (report) decodeStatusReport(mustDecode(report.bytes, 'status report'));
  if (plain.primary.fragment) {
    const whole = reassembler.add(plain, 0);
    if (whole) mustDecode(whole.bytes, 'reassembled bundle');
  }
  const forwarded = withPreviousNode(withHopIncremented(plain), ipn(99, 0));
  mustDecode(forwarded.bytes, 'forwarded bundle');
  for (const f of fragmentBundle(forwarded, 256)) mustDecode(f.bytes, 'fragment');
  return forwarded;
}

function seeds(keys: SecurityKey[]): Seed[] {
  const [hk, ck] = keys;
  const list: Bundle[] = rfc9173Vectors().map((v) => decodeBundle(v.bytes));
  const sample = sampleBundle({ payload: payloadOf(200) });
  list.push(sample, sampleBundle({}, 0), sampleBundle({}, 1));
  list.push(sampleBundle({ blocks: [{ type: 150, flags: BlockFlag.discardIfUnprocessed, data: Uint8Array.of(1, 2) }], payload: payloadOf(64) }));
  list.push(...fragmentBundle(sampleBundle({ payload: payloadOf(600) }), 300).slice(0, 2));
  list.push(signBundle(sample, { key: hk!, source: ipn(10, 0), targets: [0, 1] }));
  const signed = signBundle(sample, { key: hk!, source: ipn(10, 0), targets: [1] });
  list.push(encryptBundle(signed, { key: ck!, source: ipn(10, 0), targets: [1, 2] }));
  list.push(createStatusReport(sample, ['delivered'], 0, { source: ipn(20, 0), now: T0, sequence: 2, lifetime: 1000 })!);
  list.push(withBundleAge(sampleBundle({ creationTime: 0, blocks: [] }), 12));
  return list.map(seedOf);
}

describe('fuzzing the receive path', () => {
  it(`${N} mutated bundles give only valid bundles or typed errors, counted in telemetry`, () => {
    const keys = [
      ...parseKeys([
        { kty: 'oct', kid: 'ipn:10.0', alg: 'HS256', k: randomBytes(32).toString('base64url') },
        { kty: 'oct', kid: 'ipn:10.0', alg: 'A128KW', enc: 'A128GCM', k: randomBytes(16).toString('base64url') },
      ], 'fuzz'),
      ...rfc9173Vectors().flatMap((v) => v.keys),
    ];
    const corpus = seeds(keys);
    for (const s of corpus) expect(() => receive(s.bytes, keys, new Reassembler())).not.toThrow();

    const registry = new TelemetryRegistry();
    const telemetry = new BundleTelemetry(registry, new EventLog(createRootLogger({ level: 'silent' }), () => 0));
    const reassembler = new Reassembler({ maxBytes: 1 << 20, maxBundles: 16, timeoutMs: 1000 });
    const rnd = prng(SEED);
    const codes = new Map<string, number>();
    let valid = 0;
    let slowestMs = 0;
    for (let i = 0; i < N; i++) {
      const input = mutate(corpus, rnd);
      const started = performance.now();
      try {
        receive(input, keys, reassembler);
        valid++;
      } catch (err) {
        if (!(err instanceof BundleError)) {
          throw new Error(`input ${i} (seed ${SEED}) threw ${String(err)}\n${hex(input)}`);
        }
        telemetry.rejected(err);
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
    const rejected = N - valid;
    console.log(JSON.stringify({ inputs: N, seed: SEED, valid, rejected, slowestMs: Math.round(slowestMs), codes: Object.fromEntries(codes) }));
    // Speed is judged in test/bench/decoders.bench.ts; a hang here ends in the test's timeout.
    // Every rejection reached telemetry: the total and the per-code counters add up.
    const snapshot = registry.snapshot();
    expect(snapshot['dtn.bundlesRejected']).toBe(rejected);
    const perCode = Object.values(DTN_CHANNELS).filter((c) => c.name.startsWith('dtn.reject.')).reduce((sum, c) => sum + snapshot[c.name]!, 0);
    expect(perCode).toBe(rejected);
    // The mutations reach deep: structural, CRC and security rejections all occur, and some inputs survive.
    for (const code of ['BUNDLE_CBOR', 'BUNDLE_STRUCTURE', 'BUNDLE_CRC', 'BUNDLE_EID', 'BUNDLE_SECURITY']) expect(codes.get(code) ?? 0).toBeGreaterThan(0);
    expect(valid).toBeGreaterThan(0);
  });
});
