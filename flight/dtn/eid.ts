// Endpoint IDs (RFC 9171 4.2.5.1): the ipn scheme, [2, [node, service]], and the dtn scheme,
// [1, "//node/demux"] or [1, 0] for the null endpoint dtn:none. The 3-element ipn form of
// RFC 9758 (allocator, node, service) is not supported and is rejected with a clear error.
import { BundleError } from './bundle-error.js';
import type { CborReader, CborValue } from './cbor.js';
import { uint } from './cbor.js';

export interface IpnEid {
  readonly scheme: 'ipn';
  readonly node: number;
  readonly service: number;
}

/** `ssp` is `none` for dtn:none, otherwise `//node-name/demux` (demux may be empty). */
export interface DtnEid {
  readonly scheme: 'dtn';
  readonly ssp: string;
}

export type Eid = IpnEid | DtnEid;

export const DTN_NONE: DtnEid = Object.freeze({ scheme: 'dtn', ssp: 'none' });

export const SCHEME_DTN = 1;
export const SCHEME_IPN = 2;

/** Longest dtn-scheme SSP accepted, in bytes; bounds what one EID can cost. */
export const MAX_EID_TEXT = 256;

export function ipn(node: number, service: number): IpnEid {
  return { scheme: 'ipn', node, service };
}

export function isNullEid(eid: Eid): boolean {
  return eid.scheme === 'dtn' && eid.ssp === 'none';
}

export function eidEquals(a: Eid, b: Eid): boolean {
  if (a.scheme === 'ipn') return b.scheme === 'ipn' && a.node === b.node && a.service === b.service;
  return b.scheme === 'dtn' && a.ssp === b.ssp;
}

export function eidToString(eid: Eid): string {
  return eid.scheme === 'ipn' ? `ipn:${eid.node}.${eid.service}` : `dtn:${eid.ssp}`;
}

// dtn-hier-part = "//" node-name "/" demux, visible ASCII only (RFC 9171 4.2.5.1.1).
const DTN_SSP = /^\/\/[\x21-\x2e\x30-\x7e]+\/[\x21-\x7e]*$/;
const IPN_TEXT = /^ipn:(\d{1,16})\.(\d{1,16})$/;

function checkDtnSsp(ssp: string, fail: (reason: string) => never): void {
  if (ssp.length > MAX_EID_TEXT) fail(`dtn SSP longer than ${MAX_EID_TEXT} characters`);
  if (!DTN_SSP.test(ssp)) fail(`dtn SSP ${JSON.stringify(ssp.slice(0, 40))} is not //node-name/demux`);
}

/** Parses `ipn:N.S`, `dtn:none` or `dtn://node/demux` (operator input, CLI, config). */
export function parseEid(text: string, field = 'eid'): Eid {
  const fail = (reason: string): never => {
    throw new BundleError('BUNDLE_EID', field, reason);
  };
  const m = IPN_TEXT.exec(text);
  if (m) {
    const node = Number(m[1]);
    const service = Number(m[2]);
    if (!Number.isSafeInteger(node) || !Number.isSafeInteger(service)) fail('ipn number above 2^53-1');
    return ipn(node, service);
  }
  if (text === 'dtn:none') return DTN_NONE;
  if (text.startsWith('dtn:')) {
    const ssp = text.slice(4);
    checkDtnSsp(ssp, fail);
    return { scheme: 'dtn', ssp };
  }
  return fail(`${JSON.stringify(text.slice(0, 40))} is not ipn:NODE.SERVICE, dtn:none or dtn://node/demux`);
}

/** Field names of one EID in errors, built once per place an EID is read (not per bundle). */
export interface EidFields {
  readonly eid: string;
  readonly scheme: string;
  readonly ssp: string;
  readonly node: string;
  readonly service: string;
}

export function eidFields(eid: string): EidFields {
  return { eid, scheme: `${eid}.scheme`, ssp: `${eid}.ssp`, node: `${eid}.node`, service: `${eid}.service` };
}

/**
 * A dtn SSP is visible ASCII (RFC 9171 4.2.5.1.1), so its bytes are checked and turned into a
 * string in one pass; anything else (including any multi-byte UTF-8) is not a dtn SSP.
 */
function readDtnSsp(r: CborReader, f: EidFields): string {
  const n = r.textLength(f.ssp, MAX_EID_TEXT);
  const src = r.src;
  const start = r.pos;
  let ssp = '';
  for (let i = start; i < start + n; i++) {
    const c = src[i]!;
    if (c < 0x21 || c > 0x7e) r.fail('BUNDLE_EID', f.ssp, `byte 0x${c.toString(16)} in a dtn SSP (visible ASCII only)`);
    ssp += String.fromCharCode(c);
  }
  r.pos += n;
  if (!DTN_SSP.test(ssp)) r.fail('BUNDLE_EID', f.ssp, `dtn SSP ${JSON.stringify(ssp.slice(0, 40))} is not //node-name/demux`);
  return ssp;
}

/** Reads a CBOR-encoded EID. */
export function readEid(r: CborReader, f: EidFields): Eid {
  r.tuple(f.eid, 2);
  const scheme = r.uint(f.scheme);
  if (scheme === SCHEME_IPN) {
    const n = r.array(f.ssp);
    if (n === 3) r.fail('BUNDLE_EID', f.ssp, '3-element ipn EID (RFC 9758) is not supported');
    if (n !== 2) r.fail('BUNDLE_EID', f.ssp, `ipn SSP must be [node, service], got ${n} elements`);
    const node = r.uint(f.node);
    const service = r.uint(f.service);
    return { scheme: 'ipn', node, service };
  }
  if (scheme === SCHEME_DTN) {
    if (r.peek() === 0x00) {
      r.pos++;
      return DTN_NONE;
    }
    if (r.peek() >> 5 === 0) r.fail('BUNDLE_EID', f.ssp, 'dtn SSP integer other than 0 (dtn:none)');
    return { scheme: 'dtn', ssp: readDtnSsp(r, f) };
  }
  return r.fail('BUNDLE_EID', f.scheme, `unknown EID scheme ${scheme}`);
}

/** The EID as a value for the CBOR writer. */
export function eidValue(eid: Eid): CborValue {
  if (eid.scheme === 'ipn') return [SCHEME_IPN, [uint(eid.node), uint(eid.service)]];
  return [SCHEME_DTN, eid.ssp === 'none' ? 0 : eid.ssp];
}
