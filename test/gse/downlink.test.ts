// Downlink items (responses, housekeeping, events) as a CBOR sequence: encoded on board
// (flight/tlm/downlink-items.ts), decoded on the ground (gse/tlm.ts), typed errors for bad input.
import { describe, expect, it } from 'vitest';
import { encodeDownlink } from '../../flight/tlm/downlink-items.js';
import { decodeDownlink, MalformedDownlink, type DownlinkItem } from '../../gse/tlm.js';

describe('downlink codec', () => {
  it('round-trips a sequence of items, bytes in results included', () => {
    const items: DownlinkItem[] = [
      { kind: 'rsp', record: { node: 7, status: 'executed', source: 'ground', timeMs: 1, command: 'PING', result: { raw: new Uint8Array([1, 2]) } } },
      { kind: 'hk', record: { node: 7, seq: 1, frame: 2, mode: 'SAFE', channels: { 'cmd.accepted': 3 } } },
      { kind: 'evt', record: { node: 7, id: 0x0501, name: 'CMD_EXECUTED', severity: 'activity', message: 'm', args: {}, timeUs: 5 } },
    ];
    const decoded = decodeDownlink(Buffer.concat(items.map(encodeDownlink)));
    expect(decoded.map((i) => i.kind)).toEqual(['rsp', 'hk', 'evt']);
    expect(decoded[1]!.record).toEqual(items[1]!.record);
    expect(Buffer.from((decoded[0]!.record as unknown as { result: { raw: Uint8Array } }).result.raw)).toEqual(Buffer.from([1, 2]));
    expect(decodeDownlink(new Uint8Array(0))).toEqual([]);
  });

  it('names the item that is not a downlink item, and truncation', () => {
    const good = encodeDownlink({ kind: 'hk', record: { node: 7, seq: 1, frame: 2, mode: 'SAFE', channels: {} } });
    expect(() => decodeDownlink(Buffer.concat([good, Buffer.from([0x82, 0x63, 0x66, 0x6f, 0x6f, 0x01])]))).toThrow(/downlink item 1: expected \["rsp" \/ "hk" \/ "evt", record\]/);
    expect(() => decodeDownlink(good.subarray(0, good.length - 2))).toThrow(MalformedDownlink);
  });
});
