// The Abstract Security Block (RFC 9172 3.6), the block-type-specific data of every BIB and BCB,
// and the keyless rules of RFC 9172 3.7-3.9 on how security blocks may target each other. The
// ASB is a CBOR sequence, not an array: targets, context id, context flags, security source,
// optional parameters, results (one list per target).
import type { Block } from './bundle.js';
import { BlockFlag, BlockType } from './bundle.js';
import { BundleError, StatusReason, type BlockRef } from './bundle-error.js';
import { CborReader, concatBytes, encodeCbor, int, uint, type CborValue } from './cbor.js';
import { eidFields, eidValue, readEid, type Eid } from './eid.js';

export interface SecurityParameter {
  readonly id: number;
  /** The value when it is an unsigned integer or a byte string (all RFC 9173 uses). */
  readonly value: number | Uint8Array | undefined;
  /** Exact encoding of the value. */
  readonly raw: Uint8Array;
}

export interface Asb {
  readonly targets: readonly number[];
  readonly contextId: number;
  readonly contextFlags: number;
  readonly source: Eid;
  readonly parameters: readonly SecurityParameter[];
  /** results[i] belongs to targets[i]. */
  readonly results: readonly (readonly SecurityParameter[])[];
}

export interface SecurityBlock {
  readonly block: Block;
  /** Absent while a BCB encrypts this BIB. */
  readonly asb?: Asb;
}

/** Context flag bit 0: security context parameters present. */
export const ASB_PARAMETERS_PRESENT = 0x01;

const MAX_PARAMETERS = 32;
const SOURCE_FIELDS = eidFields('asb.source');

function readParameters(r: CborReader, field: string): SecurityParameter[] {
  const n = r.array(field);
  if (n > MAX_PARAMETERS) r.fail('BUNDLE_SECURITY', field, `${n} entries exceed the limit of ${MAX_PARAMETERS}`);
  const out: SecurityParameter[] = [];
  for (let i = 0; i < n; i++) {
    const f = `${field}[${i}]`;
    r.tuple(f, 2);
    const id = r.int(`${f}.id`);
    const start = r.pos;
    const major = r.peek() >> 5;
    let value: number | Uint8Array | undefined;
    if (major === 0) value = r.uint(`${f}.value`);
    else if (major === 2) value = r.bytes(`${f}.value`);
    else r.skip(`${f}.value`);
    out.push({ id, value, raw: r.src.subarray(start, r.pos) });
  }
  return out;
}

/** Parses an ASB; `maxTargets` bounds the target list (a bundle has no more blocks than that). */
export function readAsb(data: Uint8Array, block: BlockRef, maxTargets: number): Asb {
  const r = new CborReader(data, 0, data.length, block);
  const n = r.array('asb.targets');
  if (n === 0) r.fail('BUNDLE_SECURITY', 'asb.targets', 'no security targets');
  if (n > maxTargets) r.fail('BUNDLE_SECURITY', 'asb.targets', `${n} targets but the bundle has fewer blocks`);
  const targets: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = r.uint(`asb.targets[${i}]`);
    if (targets.includes(t)) r.fail('BUNDLE_SECURITY', `asb.targets[${i}]`, `block ${t} listed twice`);
    targets.push(t);
  }
  const contextId = r.int('asb.contextId');
  const contextFlags = r.uint('asb.contextFlags');
  const source = readEid(r, SOURCE_FIELDS);
  const parameters = contextFlags & ASB_PARAMETERS_PRESENT ? readParameters(r, 'asb.parameters') : [];
  const count = r.array('asb.results');
  if (count !== n) r.fail('BUNDLE_SECURITY', 'asb.results', `${count} result lists for ${n} targets`);
  const results: SecurityParameter[][] = [];
  for (let i = 0; i < count; i++) results.push(readParameters(r, `asb.results[${i}]`));
  r.done('asb');
  return { targets, contextId, contextFlags, source, parameters, results };
}

/** A parameter or result as the writer takes it. */
export interface NewParameter {
  readonly id: number;
  readonly value: number | Uint8Array;
}

export interface NewAsb {
  readonly targets: readonly number[];
  readonly contextId: number;
  readonly source: Eid;
  readonly parameters: readonly NewParameter[];
  readonly results: readonly (readonly NewParameter[])[];
}

function parameterValues(list: readonly NewParameter[]): CborValue {
  return list.map((p) => [int(p.id), typeof p.value === 'number' ? uint(p.value) : p.value]);
}

export function encodeAsb(asb: NewAsb): Uint8Array {
  const parts = [
    encodeCbor(asb.targets.map(uint)),
    encodeCbor(int(asb.contextId)),
    encodeCbor(asb.parameters.length > 0 ? ASB_PARAMETERS_PRESENT : 0),
    encodeCbor(eidValue(asb.source)),
  ];
  if (asb.parameters.length > 0) parts.push(encodeCbor(parameterValues(asb.parameters)));
  parts.push(encodeCbor(asb.results.map(parameterValues)));
  return concatBytes(parts);
}

export function parameter(list: readonly SecurityParameter[], id: number): SecurityParameter | undefined {
  return list.find((p) => p.id === id);
}

function ref(block: Block, index: number): BlockRef {
  return { index, type: block.type, number: block.number };
}

/**
 * RFC 9172's keyless rules: targets exist; a BIB targets no security block; a BCB targets neither
 * the primary block nor a BCB; a BCB over the payload is replicated in every fragment and never
 * discardable; one operation per (service, target); and a plaintext BIB never covers a block a
 * BCB encrypts (3.9: the BIB must then be encrypted too).
 */
export function checkSecurityRules(blocks: readonly Block[], security: readonly SecurityBlock[], encrypted: ReadonlySet<number>): void {
  const typeOf = new Map<number, number>();
  for (const b of blocks) typeOf.set(b.number, b.type);
  const seen = new Set<string>();
  for (const { block, asb } of security) {
    const at = ref(block, blocks.indexOf(block) + 1);
    const fail = (field: string, reason: string, status: number = StatusReason.conflictingSecurityOperation): never => {
      throw new BundleError('BUNDLE_SECURITY', field, reason, at, status);
    };
    const isBcb = block.type === BlockType.confidentiality;
    if (isBcb && block.flags & BlockFlag.discardIfUnprocessed) {
      fail('flags', 'a BCB must not be discardable (RFC 9172 3.8)');
    }
    if (!asb) continue;
    for (const target of asb.targets) {
      const targetType = target === 0 ? 0 : typeOf.get(target);
      if (targetType === undefined) fail('asb.targets', `target block ${target} is not in the bundle`, StatusReason.blockUnintelligible);
      const service = `${block.type}:${target}`;
      if (seen.has(service)) fail('asb.targets', `block ${target} has two ${isBcb ? 'BCB' : 'BIB'} operations`);
      seen.add(service);
      if (isBcb) {
        if (target === 0) fail('asb.targets', 'a BCB must not target the primary block', StatusReason.unexpectedSecurityOperation);
        if (targetType === BlockType.confidentiality) fail('asb.targets', 'a BCB must not target a BCB', StatusReason.unexpectedSecurityOperation);
        if (targetType === BlockType.payload && !(block.flags & BlockFlag.replicate)) {
          fail('flags', 'a BCB over the payload must be replicated in every fragment (RFC 9172 3.8)');
        }
      } else {
        if (targetType === BlockType.integrity || targetType === BlockType.confidentiality) {
          fail('asb.targets', `a BIB must not target security block ${target}`, StatusReason.unexpectedSecurityOperation);
        }
        if (encrypted.has(target)) fail('asb.targets', `plaintext BIB over block ${target}, which a BCB encrypts`);
      }
    }
  }
}
