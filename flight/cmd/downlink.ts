// What a node sends to the ground endpoint: command responses, housekeeping records and events,
// each as one CBOR item [kind, record], concatenated as a CBOR sequence (RFC 8742) so a bundle
// payload or a capture file can hold any number of them.
//
//   item = [ "rsp", response ] / [ "hk", housekeeping ] / [ "evt", event ]
import { Encoder } from 'cbor-x';
import { checkCborBounds, type CborBounds } from '../dtn/cbor.js';
import { TernError } from '../errors.js';
import type { HousekeepingRecord } from '../tlm/housekeeping.js';
import type { EventRecord } from '../tlm/events.js';
import type { CommandResponse } from './dispatcher.js';

export type DownlinkItem =
  | { readonly kind: 'rsp'; readonly record: CommandResponse }
  | { readonly kind: 'hk'; readonly record: HousekeepingRecord }
  | { readonly kind: 'evt'; readonly record: EventRecord & { readonly node: number } };

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const KINDS = new Set(['rsp', 'hk', 'evt']);
/**
 * A downlink payload, checked before cbor-x decodes it (the console and the archive read what
 * any sender put on the link): records are maps; a response's result may nest a few levels.
 */
const DOWNLINK_BOUNDS: CborBounds = { maxDepth: 8, maxItems: 1 << 16, maxStringBytes: 1 << 16, maps: true, maxTopItems: 1 << 16 };

export class MalformedDownlink extends TernError {
  readonly code = 'CMD_DOWNLINK_MALFORMED';
  constructor(readonly index: number, detail: string) {
    super(`downlink item ${index}: ${detail}`);
    this.name = 'MalformedDownlink';
  }
}

export function encodeDownlink(item: DownlinkItem): Uint8Array {
  return cbor.encode([item.kind, item.record]);
}

/** Decodes a CBOR sequence of downlink items; throws MalformedDownlink at the first bad one. */
export function decodeDownlink(bytes: Uint8Array): DownlinkItem[] {
  const items: DownlinkItem[] = [];
  if (bytes.length === 0) return items;
  let values: unknown[];
  try {
    checkCborBounds(bytes, DOWNLINK_BOUNDS);
    values = cbor.decodeMultiple(bytes) as unknown[];
  } catch (error) {
    throw new MalformedDownlink(0, `not a CBOR sequence: ${(error as Error).message}`);
  }
  for (const [i, value] of values.entries()) {
    if (!Array.isArray(value) || value.length !== 2 || !KINDS.has(value[0] as string) || typeof value[1] !== 'object' || value[1] === null) {
      throw new MalformedDownlink(i, 'expected ["rsp" / "hk" / "evt", record]');
    }
    items.push({ kind: value[0], record: value[1] } as DownlinkItem);
  }
  return items;
}
