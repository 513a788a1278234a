// Block-type-specific data of the extension blocks Tern understands: previous node (RFC 9171
// 4.4.1), bundle age (4.4.2), hop count (4.4.3) and ION's Quality of Service block (type 193,
// [flags, class of service, ordinal, data label] as ION's bpq.c writes it).
import type { BlockRef } from './bundle-error.js';
import type { HopCount, Priority, QualityOfService } from './bundle.js';
import { BlockFlag, BlockType } from './bundle.js';
import { CborReader, encodeCbor, uint } from './cbor.js';
import { eidFields, eidValue, readEid, type Eid } from './eid.js';

/** A canonical block to be encoded: what createBundle and the editing helpers take. */
export interface NewBlock {
  readonly type: number;
  /** Block number; the next free number when absent. */
  readonly number?: number;
  readonly flags?: number;
  /** CRC type; the bundle's default when absent. */
  readonly crcType?: 0 | 1 | 2;
  readonly data: Uint8Array;
}

const PREVIOUS_NODE = eidFields('previousNode');

export function readPreviousNode(data: Uint8Array, block?: BlockRef): Eid {
  const r = new CborReader(data, 0, data.length, block);
  const eid = readEid(r, PREVIOUS_NODE);
  r.done('previousNode');
  return eid;
}

export function readBundleAge(data: Uint8Array, block?: BlockRef): number {
  const r = new CborReader(data, 0, data.length, block);
  const age = r.uint('bundleAge');
  r.done('bundleAge');
  return age;
}

export function readHopCount(data: Uint8Array, block?: BlockRef): HopCount {
  const r = new CborReader(data, 0, data.length, block);
  r.tuple('hopCount', 2);
  const limit = r.uint('hopCount.limit');
  const count = r.uint('hopCount.count');
  r.done('hopCount');
  if (limit < 1 || limit > 255) r.fail('BUNDLE_BLOCK', 'hopCount.limit', `hop limit ${limit} is outside 1..255`);
  return { limit, count };
}

export function readQualityOfService(data: Uint8Array, block?: BlockRef): QualityOfService {
  const r = new CborReader(data, 0, data.length, block);
  r.tuple('qos', 4);
  const flags = r.uint('qos.flags');
  const priority = r.uint('qos.priority');
  const ordinal = r.uint('qos.ordinal');
  const dataLabel = r.uint('qos.dataLabel');
  r.done('qos');
  if (priority > 2) r.fail('BUNDLE_BLOCK', 'qos.priority', `class of service ${priority} is not 0, 1 or 2`);
  if (ordinal > 254) r.fail('BUNDLE_BLOCK', 'qos.ordinal', `ordinal ${ordinal} is above 254`);
  return { flags, priority: priority as Priority, ordinal, dataLabel };
}

export function previousNodeBlock(node: Eid): NewBlock {
  return { type: BlockType.previousNode, data: encodeCbor(eidValue(node)) };
}

export function bundleAgeBlock(ageMs: number): NewBlock {
  return { type: BlockType.bundleAge, data: encodeCbor(uint(ageMs)) };
}

export function hopCountBlock(hops: HopCount): NewBlock {
  return { type: BlockType.hopCount, data: encodeCbor([hops.limit, uint(hops.count)]) };
}

/** ION marks its QoS block "must be copied" (replicated in every fragment); so does Tern. */
export function qualityOfServiceBlock(qos: Partial<QualityOfService> & { priority: Priority }): NewBlock {
  const value = [uint(qos.flags ?? 0), qos.priority, qos.ordinal ?? 0, uint(qos.dataLabel ?? 0)];
  return { type: BlockType.qualityOfService, flags: BlockFlag.replicate, data: encodeCbor(value) };
}
