// `tern bundle inspect FILE|-`: decodes one bundle and prints it as JSON (blocks, EIDs, times,
// CRCs, security results, policy findings). With --keys it decrypts and verifies what the keys
// allow. Exit 0 for a well-formed bundle whose security checks passed, 1 with the typed error
// for a bad one, 2 for bad usage or unreadable input.
import { readFileSync } from 'node:fs';
import { runCommand, runGroup, UsageError, type CommandSpec, type GroupSpec, type OptionSpecs, type Parsed } from '../cli-args.js';
import { TernError } from '../errors.js';
import type { Asb } from './asb.js';
import { decryptBundle, verifyIntegrity, type SecurityResult } from './bpsec.js';
import {
  BlockFlag,
  BlockType,
  BundleFlag,
  DTN_EPOCH_UNIX_MS,
  DEFAULT_LIMITS,
  bundleKey,
  dtnNow,
  expiresAt,
  payloadBlock,
  type Block,
  type Bundle,
  type CrcType,
} from './bundle.js';
import { BundleError } from './bundle-error.js';
import { decodeBundle } from './codec.js';
import { eidToString } from './eid.js';
import { loadKeys, type SecurityKey } from './keys.js';
import { checkHopLimit, checkLifetime, checkValidity, processUnknownBlocks } from './policy.js';
import { decodeStatusReport } from './status-report.js';

const INSPECT = {
  name: 'tern bundle inspect',
  summary: 'Decodes one BPv7 bundle (raw bytes, or hex with --hex; - reads stdin) and prints it as JSON: blocks, EIDs, CRCs, BPSec results.',
  usage: ['FILE|- [--hex] [--keys JWK-FILE]'],
  options: {
    hex: { type: 'boolean', doc: 'the input is hex text, not raw bytes' },
    keys: { type: 'string', arg: 'JWK-FILE', doc: 'a JWK Set (or an array of JWKs, kid = security source EID) to decrypt BCBs and verify BIBs' },
  },
  positionals: true,
  notes: 'Exit codes: 0 a valid bundle; 1 a bad bundle (its typed error printed too); 2 bad input.',
  examples: ['tern store cat --data var/mission/sat-20 ID | tern bundle inspect -', 'tern bundle inspect bundle.hex --hex --keys keys.jwk.json'],
} as const satisfies CommandSpec<OptionSpecs>;

const BUNDLE: GroupSpec = {
  name: 'tern bundle',
  summary: 'BPv7 bundles as files. A bundle to read comes from tern store cat (one a node holds) or tern gse send --bundle-out (one as it would go on the wire).',
  commands: { inspect: { summary: 'print a bundle as JSON: blocks, EIDs, CRC and BPSec results', run: (argv) => runCommand(INSPECT, argv, inspectFile) } },
  examples: ['tern gse send 20 PING 42 --key flight/config/missions/local/keys/demo-operator.key --bundle-out - | tern bundle inspect -'],
};

const CRC_NAMES: Record<CrcType, string> = { 0: 'none', 1: 'crc16-x25', 2: 'crc32c' };
const BLOCK_NAMES: Record<number, string> = {
  [BlockType.payload]: 'payload',
  [BlockType.previousNode]: 'previous-node',
  [BlockType.bundleAge]: 'bundle-age',
  [BlockType.hopCount]: 'hop-count',
  [BlockType.integrity]: 'bib',
  [BlockType.confidentiality]: 'bcb',
  [BlockType.qualityOfService]: 'quality-of-service',
};

function flagNames(flags: number, table: Record<string, number>): string[] {
  return Object.entries(table).filter(([, bit]) => flags & bit).map(([name]) => name);
}

function time(dtnMs: number): string | null {
  return dtnMs === 0 ? null : new Date(DTN_EPOCH_UNIX_MS + dtnMs).toISOString();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function payloadView(data: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = { length: data.length, hexPrefix: hex(data.subarray(0, 32)) };
  try {
    const text = utf8.decode(data.subarray(0, 1024));
    if (!/[\x00-\x08\x0e-\x1f]/.test(text)) out.utf8 = text;
  } catch {
    // binary payload: the hex prefix says enough
  }
  return out;
}

function asbView(asb: Asb): Record<string, unknown> {
  const param = (p: { id: number; value: number | Uint8Array | undefined; raw: Uint8Array }): Record<string, unknown> =>
    ({ id: p.id, value: typeof p.value === 'number' ? p.value : hex(p.value ?? p.raw) });
  return {
    targets: asb.targets,
    context: asb.contextId,
    source: eidToString(asb.source),
    parameters: asb.parameters.map(param),
    results: asb.results.map((list) => list.map(param)),
  };
}

function blockView(bundle: Bundle, b: Block, i: number): Record<string, unknown> {
  const view: Record<string, unknown> = {
    index: i + 1,
    number: b.number,
    type: b.type,
    name: BLOCK_NAMES[b.type] ?? 'unknown',
    flags: { value: b.flags, set: flagNames(b.flags, BlockFlag) },
    crc: { type: CRC_NAMES[b.crcType], ok: b.crcType === 0 ? null : true },
    dataLength: b.data.length,
  };
  if (bundle.encrypted.has(b.number)) view.encrypted = true;
  else if (b.type === BlockType.previousNode && bundle.previousNode) view.previousNode = eidToString(bundle.previousNode);
  else if (b.type === BlockType.bundleAge) view.bundleAgeMs = bundle.bundleAge;
  else if (b.type === BlockType.hopCount) view.hopCount = bundle.hopCount;
  else if (b.type === BlockType.qualityOfService) view.qos = bundle.qos;
  else if (b.type === BlockType.payload && !(bundle.primary.flags & BundleFlag.adminRecord)) view.payload = payloadView(b.data);
  const asb = bundle.security.find((s) => s.block === b)?.asb;
  if (asb) view.asb = asbView(asb);
  return view;
}

function bundleView(bundle: Bundle, now: number): Record<string, unknown> {
  const p = bundle.primary;
  return {
    id: bundleKey(bundle),
    size: bundle.bytes.length,
    primary: {
      version: p.version,
      flags: { value: p.flags, set: flagNames(p.flags, BundleFlag) },
      crc: { type: CRC_NAMES[p.crcType], ok: p.crcType === 0 ? null : true },
      destination: eidToString(p.destination),
      source: eidToString(p.source),
      reportTo: eidToString(p.reportTo),
      creation: { dtnTimeMs: p.creationTime, time: time(p.creationTime), sequence: p.sequence },
      lifetimeMs: p.lifetime,
      expires: time(expiresAt(bundle, now)),
      ...(p.fragment ? { fragment: p.fragment } : {}),
    },
    blocks: bundle.blocks.map((b, i) => blockView(bundle, b, i)),
  };
}

/** Policy findings a node would act on; reported, not fatal, when inspecting a file. */
function policyView(bundle: Bundle, now: number): Record<string, unknown>[] {
  const problems: Record<string, unknown>[] = [];
  const check = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      problems.push(err.toJSON());
    }
  };
  check(() => checkValidity(bundle));
  check(() => checkLifetime(bundle, now, now));
  check(() => checkHopLimit(bundle));
  check(() => {
    const outcome = processUnknownBlocks(bundle);
    for (const b of outcome.discarded) problems.push({ code: 'UNKNOWN_BLOCK', block: b.number, action: 'discard' });
  });
  return problems;
}

async function readInput(path: string, limit: number): Promise<Buffer> {
  if (path !== '-') return readFileSync(path);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`stdin holds more than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new Error('--hex input is not an even number of hex digits');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

function inspect(bytes: Uint8Array, keys: readonly SecurityKey[]): { out: Record<string, unknown>; ok: boolean } {
  const now = dtnNow();
  let bundle: Bundle;
  try {
    bundle = decodeBundle(bytes);
  } catch (err) {
    if (err instanceof BundleError) return { out: { size: bytes.length, error: err.toJSON() }, ok: false };
    throw err;
  }
  const out = bundleView(bundle, now);
  const security: SecurityResult[] = [];
  try {
    const decrypted = decryptBundle(bundle, keys);
    security.push(...decrypted.results);
    if (decrypted.bundle !== bundle) {
      bundle = decrypted.bundle;
      out.decrypted = bundleView(bundle, now);
    }
    security.push(...verifyIntegrity(bundle, keys));
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    out.security = security;
    out.error = err.toJSON();
    return { out, ok: false };
  }
  out.security = security;
  if (bundle.primary.flags & BundleFlag.adminRecord && !bundle.encrypted.has(payloadBlock(bundle).number)) {
    try {
      const report = decodeStatusReport(bundle);
      out.statusReport = { ...report, subject: { ...report.subject, source: eidToString(report.subject.source) } };
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      out.error = err.toJSON();
      return { out, ok: false };
    }
  }
  out.policy = policyView(bundle, now);
  return { out, ok: true };
}

export function runBundle(argv: string[]): Promise<number> {
  return runGroup(BUNDLE, argv);
}

async function inspectFile(values: Parsed<typeof INSPECT.options>['values'], positionals: string[]): Promise<number> {
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('give one FILE (- for stdin)');
  let bytes: Uint8Array;
  let keys: SecurityKey[] = [];
  try {
    const raw = await readInput(file, DEFAULT_LIMITS.maxBundleBytes * 2 + 4096);
    bytes = values.hex ? fromHex(raw.toString('utf8')) : Uint8Array.from(raw);
    if (values.keys !== undefined) keys = loadKeys(values.keys);
  } catch (err) {
    const detail = err instanceof TernError ? `${err.code}: ${err.message}` : (err as Error).message;
    console.error(`tern bundle inspect: ${detail}`);
    return 2;
  }
  const { out, ok } = inspect(bytes, keys);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  if (!ok) {
    const e = out.error as { code: string; field: string; reason: string };
    console.error(`tern bundle inspect: ${e.code}: ${e.field}: ${e.reason}`);
  }
  return ok ? 0 : 1;
}
