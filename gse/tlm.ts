// Decoding and printing what a node sent down (flight/tlm/downlink-items.ts): command responses,
// housekeeping with units, enum labels and limit states from the dictionary, and events.
import type { CommandResponse } from '../flight/cmd/dispatcher.js';
import type { Dictionary } from '../flight/cmd/export.js';
import { checkCborBounds, type CborBounds } from '../flight/dtn/cbor.js';
import { TernError } from '../flight/errors.js';
import { TelemetryRegistry, type Channel } from '../flight/tlm/channels.js';
import { DOWNLINK_KINDS, downlinkCbor, type DownlinkItem as AnyDownlinkItem } from '../flight/tlm/downlink-items.js';

export type DownlinkItem = AnyDownlinkItem<CommandResponse>;

/**
 * A downlink payload, checked before cbor-x decodes it (the console and the archive read what
 * any sender put on the link): records are maps; a response's result may nest a few levels.
 */
const DOWNLINK_BOUNDS: CborBounds = { maxDepth: 8, maxItems: 1 << 16, maxStringBytes: 1 << 16, maps: true, maxTopItems: 1 << 16 };

export class MalformedDownlink extends TernError {
  readonly code = 'GSE_DOWNLINK_MALFORMED';
  constructor(readonly index: number, detail: string) {
    super(`downlink item ${index}: ${detail}`);
    this.name = 'MalformedDownlink';
  }
}

/** Decodes a CBOR sequence of downlink items; throws MalformedDownlink at the first bad one. */
export function decodeDownlink(bytes: Uint8Array): DownlinkItem[] {
  const items: DownlinkItem[] = [];
  if (bytes.length === 0) return items;
  let values: unknown[];
  try {
    checkCborBounds(bytes, DOWNLINK_BOUNDS);
    values = downlinkCbor.decodeMultiple(bytes) as unknown[];
  } catch (error) {
    throw new MalformedDownlink(0, `not a CBOR sequence: ${(error as Error).message}`);
  }
  for (const [i, value] of values.entries()) {
    if (!Array.isArray(value) || value.length !== 2 || !DOWNLINK_KINDS.has(value[0] as string) || typeof value[1] !== 'object' || value[1] === null) {
      throw new MalformedDownlink(i, 'expected ["rsp" / "hk" / "evt", record]');
    }
    items.push({ kind: value[0], record: value[1] } as DownlinkItem);
  }
  return items;
}

/** JSON with byte strings as hex (the holder's raw value is read: Buffer.toJSON runs first). */
function json(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? `hex:${Buffer.from(raw).toString('hex')}` : v;
  });
}

/** A command response as one line for people (the mission view shows these too). */
export function responseLine(r: ResponseRecord): string {
  const what = [
    `${new Date(r.timeMs).toISOString()} RSP node ${r.node}`,
    r.command ?? (r.opcode === undefined ? '(undecoded)' : `opcode 0x${r.opcode.toString(16)}`),
    r.reason ? `${r.status} ${r.reason}` : r.status,
  ];
  if (r.operator !== undefined) what.push(`op ${r.operator}${r.seq === undefined ? '' : ` seq ${r.seq}`}`);
  if (r.source === 'sequence') what.push(`slot ${r.slot} step ${r.step}`);
  if (r.approvals) what.push(`${r.approvals.have}/${r.approvals.need} approvals until ${new Date(r.approvals.untilMs).toISOString()}`);
  if (r.digest) what.push(`[${r.digest}]`);
  let line = what.join(' ');
  if (r.detail) line += `: ${r.detail}`;
  if (r.result !== undefined) line += ` ${json(r.result)}`;
  return line;
}

export type ResponseRecord = Extract<DownlinkItem, { kind: 'rsp' }>['record'];

export function printDownlink(bytes: Uint8Array, dictionary: Dictionary, asJson: boolean, out: (line: string) => void): void {
  const items = decodeDownlink(bytes);
  if (asJson) {
    for (const item of items) out(json({ kind: item.kind, ...item.record }));
    return;
  }
  // The flight registry itself, built from the dictionary: limit states are judged as on board.
  const registry = new TelemetryRegistry();
  for (const def of dictionary.channels) registry.define(def);
  const events = new Map(dictionary.events.map((e) => [e.id, e]));
  for (const item of items) {
    switch (item.kind) {
      case 'rsp':
        out(responseLine(item.record));
        break;
      case 'evt': {
        const e = item.record;
        const known = events.has(e.id) ? '' : ' (not in this dictionary)';
        out(`t+${(e.timeUs / 1e6).toFixed(6)}s EVT node ${e.node} ${e.severity.toUpperCase()} ${e.name} (0x${e.id.toString(16).padStart(4, '0')})${known}: ${e.message}`);
        break;
      }
      case 'hk': {
        const h = item.record;
        out(`HK node ${h.node} seq ${h.seq} frame ${h.frame} mode ${h.mode}`);
        for (const [name, value] of Object.entries(h.channels)) {
          const channel: Channel | undefined = registry.get(name);
          if (!channel) {
            out(`  ${name} = ${value} (not in this dictionary)`);
            continue;
          }
          channel.set(value);
          const label = channel.def.labels?.[value];
          const state = channel.limitState();
          out(`  ${name} = ${label ?? value}${channel.def.units ? ` ${channel.def.units}` : ''}${state === 'nominal' ? '' : ` [${state.toUpperCase()}]`}`);
        }
        break;
      }
    }
  }
}
