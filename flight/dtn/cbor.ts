// CBOR for bundles. Writing goes through cbor-x, configured so that it emits only what RFC 9171
// allows. Reading is a small strict reader over the subset BPv7 uses, because a generic decoder
// cannot do three things the bundle codec needs: tell the byte range of each block (for the CRC
// and for byte-exact re-encoding), tell an integer from a float or a tagged item (cbor-x maps
// both to a JS number and runs tag extensions, which is attack surface on a link), and name the
// field a malformed item belongs to. The reader accepts preferred (shortest) serialization only,
// so the bytes received are the canonical form BPSec hashes (RFC 9172 section 4).
// Last, the bounds check every cbor-x decode of link input runs first (commands, session
// handshakes, downlink): cbor-x is fast on what Tern writes and slow on what an attacker can.
import { Encoder } from 'cbor-x';
import { TernError } from '../errors.js';
import { BundleError, type BlockRef, type BundleErrorCode } from './bundle-error.js';

/** Values the writer accepts. Integers must be safe integers; `uint()` prepares large ones. */
export type CborValue = number | bigint | boolean | string | Uint8Array | readonly CborValue[];

// Records and the Uint8Array tag are cbor-x extensions a BPv7 peer would not understand.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false });
// cbor-x returns views of one buffer that every Encoder in the process shares, and later calls
// write after them; results are copied out at once. (Pointing cbor-x at a private buffer with
// useBuffer would rewind that shared position and overwrite other modules' encodings.)

/** CBOR encoding of `value`, in its own buffer. */
export function encodeCbor(value: CborValue): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/**
 * `items` as an indefinite-length array (the bundle framing of RFC 9171 4.1). cbor-x writes a
 * definite array with one extra item, `false`, holding the place of the break: those bytes have
 * the bundle's exact length, so they are copied out in one go and two bytes patched (the head
 * becomes 0x9f, the `false` the break 0xff).
 */
export function encodeIndefiniteArray(items: readonly CborValue[]): Uint8Array {
  const definite = encoder.encode([...items, false]);
  const head = cborHeadLength(items.length + 1);
  const out = new Uint8Array(definite.subarray(head - 1));
  out[0] = 0x9f;
  out[out.length - 1] = 0xff;
  return out;
}

/** cbor-x writes JS numbers above 2^32 as floats; a bigint gets the 8-byte integer form. */
export function uint(n: number): number | bigint {
  return n > 0xffffffff ? BigInt(n) : n;
}

/** Signed integers: the same care below -2^31. */
export function int(n: number): number | bigint {
  return n > 0xffffffff || n < -0x80000000 ? BigInt(n) : n;
}

/** Head of a definite-length item (major type, argument), preferred serialization. */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const hi = Math.floor(n / 0x100000000);
  const lo = n >>> 0;
  return Uint8Array.of(m | 27, hi >>> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff,
    lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
}

/** Encoded length of a head with argument `n`. */
export function cborHeadLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const MAJOR_NAMES = ['an unsigned integer', 'a negative integer', 'a byte string', 'a text string',
  'an array', 'a map', 'a tag', 'a float or simple value'];

/** What an initial byte starts, for error messages. */
function describeInitial(initial: number): string {
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (initial === 0xff) return 'a break (0xff)';
  if (major === 7) {
    if (initial === 0xf4 || initial === 0xf5) return 'a boolean';
    if (initial === 0xf6 || initial === 0xf7) return 'null/undefined';
    if (info >= 25 && info <= 27) return 'a float';
  }
  return `${MAJOR_NAMES[major]} (major type ${major})`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Nesting allowed inside opaque values (security parameters of unknown contexts). */
const MAX_SKIP_DEPTH = 16;
/**
 * Items one reader (one security block) skips in all: skipping costs a step per item, and a
 * 40 KB parameter of one-byte items took 8x the decode of a normal 40 KB bundle
 * (test/bench/decoders.bench.ts). The parameters of RFC 9173's contexts are never skipped.
 */
const MAX_SKIP_ITEMS = 64;

/**
 * Strict reader over `src[start, end)`. Every failure is a BundleError naming `field` and the
 * block set in `block`; nothing reads past `end` and no length is trusted before it is checked
 * against the bytes that remain, so no input can make it allocate more than it was given.
 */
export class CborReader {
  pos: number;
  block: BlockRef | undefined;
  /** Items the opaque values this reader skips may still hold. */
  private skipBudget = MAX_SKIP_ITEMS;

  constructor(
    readonly src: Uint8Array,
    start = 0,
    readonly end = src.length,
    block?: BlockRef,
  ) {
    this.pos = start;
    this.block = block;
  }

  fail(code: BundleErrorCode, field: string, reason: string): never {
    // A snapshot: the decoder moves one `block` object along the bundle rather than allocate per block.
    const b = this.block;
    const at = b === undefined ? undefined : b.type === undefined ? { index: b.index } : { index: b.index, type: b.type, number: b.number };
    throw new BundleError(code, field, reason, at);
  }

  /** Initial byte of the next item, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.src[this.pos]! : -1;
  }

  private head(major: number, field: string): number {
    if (this.pos >= this.end) this.fail('BUNDLE_CBOR', field, `truncated: expected ${MAJOR_NAMES[major]}`);
    const initial = this.src[this.pos]!;
    if (initial >> 5 !== major) {
      this.fail('BUNDLE_CBOR', field, `expected ${MAJOR_NAMES[major]}, got ${describeInitial(initial)}`);
    }
    return this.argument(initial, field);
  }

  /** Reads the argument after an initial byte at `pos`; preferred serialization only. */
  private argument(initial: number, field: string): number {
    const info = initial & 0x1f;
    const s = this.src;
    const p = this.pos + 1;
    if (info < 24) {
      this.pos = p;
      return info;
    }
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (width === 0) {
      this.fail('BUNDLE_CBOR', field, info === 31
        ? 'indefinite length not allowed here (RFC 9171 uses it for the bundle array only)'
        : `reserved additional information ${info}`);
    }
    if (p + width > this.end) this.fail('BUNDLE_CBOR', field, 'truncated integer');
    let value: number;
    let smallest: number;
    if (width === 1) {
      value = s[p]!;
      smallest = 24;
    } else if (width === 2) {
      value = (s[p]! << 8) | s[p + 1]!;
      smallest = 0x100;
    } else if (width === 4) {
      value = ((s[p]! << 24) | (s[p + 1]! << 16) | (s[p + 2]! << 8) | s[p + 3]!) >>> 0;
      smallest = 0x10000;
    } else {
      const hi = ((s[p]! << 24) | (s[p + 1]! << 16) | (s[p + 2]! << 8) | s[p + 3]!) >>> 0;
      const lo = ((s[p + 4]! << 24) | (s[p + 5]! << 16) | (s[p + 6]! << 8) | s[p + 7]!) >>> 0;
      if (hi > 0x1fffff) this.fail('BUNDLE_CBOR', field, 'integer above 2^53-1 is not supported');
      value = hi * 0x100000000 + lo;
      smallest = 0x100000000;
    }
    if (value < smallest) this.fail('BUNDLE_CBOR', field, 'integer not in preferred (shortest) encoding');
    this.pos = p + width;
    return value;
  }

  uint(field: string): number {
    // Most integers in a bundle are below 24 and fit in the initial byte.
    const initial = this.pos < this.end ? this.src[this.pos]! : 0xff;
    if (initial < 24) {
      this.pos++;
      return initial;
    }
    return this.head(0, field);
  }

  /** Signed integer (security context ids may be negative). */
  int(field: string): number {
    const initial = this.peek();
    if (initial >> 5 === 1) return -1 - this.argument(initial, field);
    return this.head(0, field);
  }

  /** A definite-length byte string, as a view into the source (no copy). */
  bytes(field: string): Uint8Array {
    const n = this.byteStringLength(field);
    const view = this.src.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  /** Head of a definite-length byte string whose bytes, checked to be there, follow at `pos`. */
  byteStringLength(field: string): number {
    const n = this.head(2, field);
    if (n > this.end - this.pos) this.fail('BUNDLE_CBOR', field, `byte string of ${n} bytes runs past the end`);
    return n;
  }

  text(field: string, maxBytes: number): string {
    const n = this.textLength(field, maxBytes);
    let text: string;
    try {
      text = utf8.decode(this.src.subarray(this.pos, this.pos + n));
    } catch {
      this.fail('BUNDLE_CBOR', field, 'text string is not valid UTF-8');
    }
    this.pos += n;
    return text;
  }

  /** Head of a definite-length text string of at most `maxBytes`, whose bytes follow at `pos`. */
  textLength(field: string, maxBytes: number): number {
    const n = this.head(3, field);
    if (n > maxBytes) this.fail('BUNDLE_CBOR', field, `text of ${n} bytes exceeds the limit of ${maxBytes}`);
    if (n > this.end - this.pos) this.fail('BUNDLE_CBOR', field, `text of ${n} bytes runs past the end`);
    return n;
  }

  /** Head of a definite-length array; returns its element count. */
  array(field: string): number {
    const initial = this.pos < this.end ? this.src[this.pos]! : 0;
    let n: number;
    if (initial >= 0x80 && initial < 0x98) {
      this.pos++;
      n = initial - 0x80;
    } else {
      n = this.head(4, field);
    }
    // Every element takes at least one byte: a count beyond the remaining bytes is a lie.
    if (n > this.end - this.pos) this.fail('BUNDLE_CBOR', field, `array of ${n} elements runs past the end`);
    return n;
  }

  /** An array that must have exactly `n` elements. */
  tuple(field: string, n: number): void {
    const got = this.array(field);
    if (got !== n) this.fail('BUNDLE_STRUCTURE', field, `expected an array of ${n} elements, got ${got}`);
  }

  bool(field: string): boolean {
    const initial = this.peek();
    if (initial === 0xf4 || initial === 0xf5) {
      this.pos++;
      return initial === 0xf5;
    }
    return this.fail('BUNDLE_CBOR', field, initial < 0 ? 'truncated: expected a boolean'
      : `expected a boolean, got ${describeInitial(initial)}`);
  }

  /**
   * Skips one well-formed definite-length item of any type, for values whose meaning belongs to
   * someone else (parameters of an unknown security context). Depth and item count are bounded.
   */
  skip(field: string): void {
    this.skipItem(field, 0);
  }

  private skipItem(field: string, depth: number): void {
    if (depth > MAX_SKIP_DEPTH) this.fail('BUNDLE_CBOR', field, `nesting deeper than ${MAX_SKIP_DEPTH}`);
    if (--this.skipBudget < 0) this.fail('BUNDLE_CBOR', field, `more than ${MAX_SKIP_ITEMS} items in opaque values`);
    const initial = this.peek();
    if (initial < 0) this.fail('BUNDLE_CBOR', field, 'truncated: expected an item');
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      // Simple values and floats: fixed widths; 0xff (break) has no place outside indefinite items.
      const width = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
      if (width < 0) this.fail('BUNDLE_CBOR', field, `unexpected ${describeInitial(initial)}`);
      if (this.pos + 1 + width > this.end) this.fail('BUNDLE_CBOR', field, 'truncated item');
      this.pos += 1 + width;
      return;
    }
    const n = this.argument(initial, field);
    if (major === 2 || major === 3) {
      if (n > this.end - this.pos) this.fail('BUNDLE_CBOR', field, 'string runs past the end');
      this.pos += n;
    } else if (major === 4 || major === 5) {
      const items = major === 5 ? n * 2 : n;
      if (items > this.end - this.pos) this.fail('BUNDLE_CBOR', field, 'container runs past the end');
      if (items > this.skipBudget) this.fail('BUNDLE_CBOR', field, `more than ${MAX_SKIP_ITEMS} items in opaque values`);
      for (let i = 0; i < items; i++) this.skipItem(field, depth + 1);
    } else if (major === 6) {
      this.skipItem(field, depth + 1);
    }
  }

  /** Requires that every byte was consumed. */
  done(field: string): void {
    if (this.pos !== this.end) this.fail('BUNDLE_CBOR', field, `${this.end - this.pos} unexpected trailing byte(s)`);
  }
}

/**
 * What a generic decoder (cbor-x) may be given from a link, checked by `checkCborBounds` before
 * it runs. cbor-x does work no byte count bounds: tags 2 and 3 become bigints (quadratic in the
 * string's length: 40 KB took 120 ms), other tags run its extensions. So no tag passes, nor an
 * indefinite length or an unassigned simple value, and depth, items and string sizes have limits.
 */
export interface CborBounds {
  /** Deepest nesting of arrays and maps; an array of scalars is depth 1. */
  readonly maxDepth: number;
  /** Items in all: every container and element (a map entry counts as two). */
  readonly maxItems: number;
  /** Longest byte or text string. */
  readonly maxStringBytes: number;
  /** Whether maps may occur (cbor-x builds an object or a Map from each). */
  readonly maps: boolean;
  /** Top-level items: 1 (the default) for one CBOR item, more for a CBOR sequence (RFC 8742). */
  readonly maxTopItems?: number;
}

/** CBOR outside the bounds its decoder accepts: refused before anything decodes it. */
export class CborRefused extends TernError {
  readonly code = 'CBOR_REFUSED';
  constructor(readonly offset: number, readonly reason: string) {
    super(`CBOR refused at byte ${offset}: ${reason}`);
    this.name = 'CborRefused';
  }
}

/**
 * Walks the item heads of `bytes` (strings are stepped over, never read) and throws CborRefused
 * at the first thing outside `bounds`. Costs at most `maxItems` steps whatever the input, and
 * no allocation beyond one counter per open container.
 */
export function checkCborBounds(bytes: Uint8Array, bounds: CborBounds): void {
  const end = bytes.length;
  const maxTop = bounds.maxTopItems ?? 1;
  /** Elements still to come in each open container, outermost first. */
  const open: number[] = [];
  let pos = 0;
  let items = 0;
  let top = 0;
  const refuse = (reason: string): never => {
    throw new CborRefused(pos, reason);
  };
  if (end === 0) refuse('no item');
  while (pos < end) {
    if (open.length === 0 && ++top > maxTop) refuse(maxTop === 1 ? 'bytes after the item' : `more than ${maxTop} items in the sequence`);
    if (++items > bounds.maxItems) refuse(`more than ${bounds.maxItems} items`);
    const initial = bytes[pos]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 6) refuse(`a tag (${describeTag(bytes, pos)}): none is accepted here`);
    if (info === 31) refuse(initial === 0xff ? 'a break outside an indefinite-length item' : 'an indefinite length');
    const width = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
    if (width < 0) refuse(`reserved additional information ${info}`);
    if (pos + 1 + width > end) refuse('truncated head');
    if (major === 7 && (info < 20 || info === 24)) refuse(`an unassigned simple value`);
    let argument = info < 24 ? info : 0;
    for (let i = 1; i <= width; i++) argument = argument * 256 + bytes[pos + i]!;
    pos += 1 + width;
    let complete = true;
    if (major === 2 || major === 3) {
      if (argument > bounds.maxStringBytes) refuse(`a string of ${argument} bytes (at most ${bounds.maxStringBytes})`);
      if (argument > end - pos) refuse(`a string of ${argument} bytes runs past the end`);
      pos += argument;
    } else if (major === 4 || major === 5) {
      if (major === 5 && !bounds.maps) refuse('a map: none is accepted here');
      if (open.length + 1 > bounds.maxDepth) refuse(`nesting deeper than ${bounds.maxDepth}`);
      const elements = major === 5 ? argument * 2 : argument;
      // Every element takes a byte at least, and counts as an item.
      if (elements > end - pos || items + elements > bounds.maxItems) refuse(`a container of ${elements} elements exceeds the bytes or items left`);
      if (elements > 0) {
        open.push(elements);
        complete = false;
      }
    }
    if (complete) {
      while (open.length > 0 && --open[open.length - 1]! === 0) open.pop();
    }
  }
  if (open.length > 0) refuse('truncated: a container ends early');
}

function describeTag(bytes: Uint8Array, pos: number): string {
  const info = bytes[pos]! & 0x1f;
  if (info < 24) return info === 2 || info === 3 ? `${info}, a bignum` : String(info);
  return info === 24 && pos + 1 < bytes.length ? String(bytes[pos + 1]) : 'a long tag number';
}
