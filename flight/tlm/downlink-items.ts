// What a node sends to the ground endpoint: command responses, housekeeping records and events,
// each as one CBOR item [kind, record], concatenated as a CBOR sequence (RFC 8742) so a bundle
// payload or a capture file can hold any number of them. The ground decodes them (gse/tlm.ts).
//
//   item = [ "rsp", response ] / [ "hk", housekeeping ] / [ "evt", event ]
import { Encoder } from 'cbor-x';
import type { EventRecord } from './events.js';
import type { HousekeepingRecord } from './housekeeping.js';

/**
 * A downlink item. A command response is whatever the command subsystem reports (its
 * CommandResponse): tlm carries it without depending on cmd, and the ground names the type.
 */
export type DownlinkItem<Response extends object = object> =
  | { readonly kind: 'rsp'; readonly record: Response }
  | { readonly kind: 'hk'; readonly record: HousekeepingRecord }
  | { readonly kind: 'evt'; readonly record: EventRecord & { readonly node: number } };

export const DOWNLINK_KINDS: ReadonlySet<string> = new Set(['rsp', 'hk', 'evt']);

/** The encoder both ends use: maps as objects, byte strings untagged. */
export const downlinkCbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export function encodeDownlink(item: DownlinkItem): Uint8Array {
  return downlinkCbor.encode([item.kind, item.record]);
}
