// Printing what a node sent down (flight/cmd/downlink.ts): command responses, housekeeping with
// units, enum labels and limit states from the dictionary, and events.
import { decodeDownlink, type DownlinkItem } from '../flight/cmd/downlink.js';
import type { Dictionary } from '../flight/cmd/export.js';
import { TelemetryRegistry, type Channel } from '../flight/tlm/channels.js';

/** JSON with byte strings as hex (the holder's raw value is read: Buffer.toJSON runs first). */
function json(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? `hex:${Buffer.from(raw).toString('hex')}` : v;
  });
}

function responseLine(r: Extract<DownlinkItem, { kind: 'rsp' }>['record']): string {
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
