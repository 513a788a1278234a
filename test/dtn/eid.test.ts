import { describe, expect, it } from 'vitest';
import { CborReader, encodeCbor } from '../../flight/dtn/cbor.js';
import { DTN_NONE, eidEquals, eidFields, eidToString, eidValue, ipn, isNullEid, parseEid, readEid } from '../../flight/dtn/eid.js';
import { expectBundleError, fromHex, hex } from './helpers.js';

const read = (bytes: Uint8Array) => {
  const r = new CborReader(bytes, 0, bytes.length);
  const eid = readEid(r, eidFields('eid'));
  r.done('eid');
  return eid;
};

describe('endpoint IDs', () => {
  it.each([
    ['ipn:2.1', '8202820201'],
    ['ipn:4294967296.0', '8202821b000000010000000000'],
    ['dtn:none', '820100'],
    ['dtn://ground/reports', '820170' + Buffer.from('//ground/reports').toString('hex')],
    ['dtn://sat-7/', '820168' + Buffer.from('//sat-7/').toString('hex')],
  ])('%s encodes as %s and back', (text, encoding) => {
    const eid = parseEid(text);
    expect(eidToString(eid)).toBe(text);
    expect(hex(encodeCbor(eidValue(eid)))).toBe(encoding);
    expect(eidEquals(read(fromHex(encoding)), eid)).toBe(true);
  });

  it('knows the null endpoint and compares by value', () => {
    expect(isNullEid(DTN_NONE)).toBe(true);
    expect(isNullEid(ipn(0, 0))).toBe(false);
    expect(eidEquals(ipn(1, 2), ipn(1, 2))).toBe(true);
    expect(eidEquals(ipn(1, 2), parseEid('dtn://1/2'))).toBe(false);
  });

  it.each(['ipn:1', 'ipn:1.2.3', 'dtn:', 'dtn:/x/y', 'dtn://', 'dtn://node', 'dtn://no de/x', 'http://x', `dtn://${'a'.repeat(300)}/`])(
    'rejects the text %s', (text) => {
      expectBundleError(() => parseEid(text), 'BUNDLE_EID', 'eid');
    });

  it.each([
    ['a 3-element ipn SSP (RFC 9758)', '820283000102', 'eid.ssp'],
    ['a 1-element ipn SSP', '82028101', 'eid.ssp'],
    ['dtn SSP integer 1', '820101', 'eid.ssp'],
    ['scheme 0', '820000', 'eid.scheme'],
    ['a dtn SSP without a demux separator', '8201662f2f6e6f6465', 'eid.ssp'],
  ])('rejects %s in CBOR', (_name, h, field) => {
    expectBundleError(() => read(fromHex(h)), 'BUNDLE_EID', field);
  });
});
