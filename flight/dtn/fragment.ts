// Fragmentation to a convergence layer's maximum bundle size (RFC 9171 5.8) and reassembly
// (5.9). Every fragment carries the primary block (with fragment offset and total ADU length),
// the blocks flagged "replicate in every fragment", and a slice of the payload; the first one
// carries every other extension block too. Reassembly holds bounded memory for a bounded time.
import { BlockFlag, BlockType, BundleFlag, aduKey, payloadBlock, type Block, type Bundle } from './bundle.js';
import { BundleError } from './bundle-error.js';
import { cborHeadLength } from './cbor.js';
import { assembleBundle, encodeBlock, encodePrimary } from './codec.js';

/** Encoded size of a payload block around `length` bytes of data. */
function payloadOverhead(payload: Block, length: number): number {
  const crc = payload.crcType === 0 ? 0 : payload.crcType === 1 ? 3 : 5;
  // array head, type 1, number 1, flags, CRC type, data head, CRC
  return 1 + 1 + 1 + cborHeadLength(payload.flags) + 1 + cborHeadLength(length) + crc;
}

/**
 * Splits `bundle` so that every fragment encodes to at most `maxBytes`. A bundle that fits is
 * returned as is. Throws BUNDLE_FRAGMENT when the bundle must not be fragmented or when the
 * headers alone leave no room for payload.
 */
export function fragmentBundle(bundle: Bundle, maxBytes: number): Bundle[] {
  if (bundle.bytes.length <= maxBytes) return [bundle];
  const p = bundle.primary;
  if (p.flags & BundleFlag.mustNotFragment) {
    throw new BundleError('BUNDLE_FRAGMENT', 'primary.flags',
      `${bundle.bytes.length} bytes exceed the ${maxBytes}-byte limit and the bundle must not be fragmented`, { index: 0 });
  }
  const payload = payloadBlock(bundle);
  const base = p.fragment?.offset ?? 0;
  const totalLength = p.fragment?.totalLength ?? payload.data.length;
  const extensions = bundle.blocks.slice(0, -1);
  const replicated = extensions.filter((b) => b.flags & BlockFlag.replicate);
  const out: Bundle[] = [];
  for (let at = 0; at < payload.data.length;) {
    const primary = encodePrimary({ ...p, fragment: { offset: base + at, totalLength } });
    const blocks = at === 0 ? extensions : replicated;
    let available = maxBytes - 2 - primary.bytes.length;
    for (const b of blocks) available -= b.bytes.length;
    const remaining = payload.data.length - at;
    let length = Math.min(remaining, available);
    while (length > 0 && length + payloadOverhead(payload, length) > available) {
      length -= Math.max(1, length + payloadOverhead(payload, length) - available);
    }
    if (length <= 0) {
      throw new BundleError('BUNDLE_FRAGMENT', 'maxBytes', `${maxBytes} bytes leave no room for payload after the headers`, { index: 0 });
    }
    const slice = encodeBlock({ type: BlockType.payload, number: 1, flags: payload.flags, crcType: payload.crcType,
      data: payload.data.subarray(at, at + length) });
    out.push(assembleBundle(primary, [...blocks, slice]));
    at += length;
  }
  return out;
}

export interface ReassemblyLimits {
  /** Bytes of fragments held across all partial bundles. */
  readonly maxBytes: number;
  /** Partial bundles held at once. */
  readonly maxBundles: number;
  /** A partial bundle is dropped this long after its first fragment arrived. */
  readonly timeoutMs: number;
}

export const DEFAULT_REASSEMBLY: ReassemblyLimits = { maxBytes: 64 * 1024 * 1024, maxBundles: 256, timeoutMs: 3_600_000 };

export interface ReassemblyStats {
  pendingBundles: number;
  pendingBytes: number;
  reassembled: number;
  duplicates: number;
  timedOut: number;
  evicted: number;
}

interface Piece {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface Partial {
  readonly totalLength: number;
  readonly deadline: number;
  bytes: number;
  first?: Bundle;
  readonly pieces: Piece[];
  /** Covered payload ranges, sorted and merged: [start, end) pairs. */
  covered: Array<[number, number]>;
}

function covers(ranges: ReadonlyArray<[number, number]>, start: number, end: number): boolean {
  return ranges.some(([s, e]) => s <= start && end <= e);
}

function addRange(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  const all = [...ranges, [start, end] as [number, number]].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of all) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/**
 * Collects fragments until an application data unit is whole. Memory is bounded: beyond
 * `maxBytes` or `maxBundles` the oldest partial bundle is evicted, and partial bundles older
 * than `timeoutMs` are dropped by expire(). Time is whatever clock the caller passes (ms).
 */
export class Reassembler {
  private readonly partials = new Map<string, Partial>();
  readonly stats: ReassemblyStats = { pendingBundles: 0, pendingBytes: 0, reassembled: 0, duplicates: 0, timedOut: 0, evicted: 0 };

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY) {}

  /** Adds one fragment; returns the whole bundle once its last missing piece arrives. */
  add(fragment: Bundle, now: number): Bundle | undefined {
    const f = fragment.primary.fragment;
    if (!f) throw new BundleError('BUNDLE_REASSEMBLY', 'primary.flags', 'not a fragment', { index: 0 });
    if (f.totalLength > this.limits.maxBytes) {
      throw new BundleError('BUNDLE_REASSEMBLY', 'primary.totalLength',
        `ADU of ${f.totalLength} bytes exceeds the reassembly limit of ${this.limits.maxBytes}`, { index: 0 });
    }
    const data = payloadBlock(fragment).data;
    const key = `${aduKey(fragment)}|${f.totalLength}`;
    let partial = this.partials.get(key);
    if (partial && covers(partial.covered, f.offset, f.offset + data.length) && (f.offset !== 0 || partial.first)) {
      this.stats.duplicates++;
      return undefined;
    }
    const cost = fragment.bytes.length;
    this.makeRoom(cost, partial ? 0 : 1, key);
    partial = this.partials.get(key);
    if (!partial) {
      partial = { totalLength: f.totalLength, deadline: now + this.limits.timeoutMs, bytes: 0, pieces: [], covered: [] };
      this.partials.set(key, partial);
    }
    partial.pieces.push({ offset: f.offset, data });
    partial.covered = addRange(partial.covered, f.offset, f.offset + data.length);
    if (f.offset === 0) partial.first ??= fragment;
    partial.bytes += cost;
    this.refreshStats();
    const whole = partial.covered.length === 1 && partial.covered[0]![0] === 0 && partial.covered[0]![1] === partial.totalLength;
    if (!whole || !partial.first) return undefined;
    this.partials.delete(key);
    this.refreshStats();
    this.stats.reassembled++;
    return this.join(partial, partial.first);
  }

  /** Drops partial bundles past their deadline; returns how many. */
  expire(now: number): number {
    let dropped = 0;
    for (const [key, partial] of this.partials) {
      if (now >= partial.deadline) {
        this.partials.delete(key);
        dropped++;
      }
    }
    this.stats.timedOut += dropped;
    this.refreshStats();
    return dropped;
  }

  private makeRoom(bytes: number, bundles: number, keep: string): void {
    for (const [key] of this.partials) {
      if (this.stats.pendingBytes + bytes <= this.limits.maxBytes && this.partials.size + bundles <= this.limits.maxBundles) return;
      if (key === keep) continue;
      this.partials.delete(key);
      this.stats.evicted++;
      this.refreshStats();
    }
    if (this.stats.pendingBytes + bytes > this.limits.maxBytes) {
      // Only the bundle being added is left and it alone is too big: give it up too.
      this.partials.delete(keep);
      this.refreshStats();
      throw new BundleError('BUNDLE_REASSEMBLY', 'primary.totalLength', `fragments exceed the reassembly limit of ${this.limits.maxBytes} bytes`, { index: 0 });
    }
  }

  private refreshStats(): void {
    let bytes = 0;
    for (const p of this.partials.values()) bytes += p.bytes;
    this.stats.pendingBytes = bytes;
    this.stats.pendingBundles = this.partials.size;
  }

  private join(partial: Partial, first: Bundle): Bundle {
    const adu = new Uint8Array(partial.totalLength);
    for (const piece of partial.pieces) adu.set(piece.data, piece.offset);
    const p = first.primary;
    const primary = encodePrimary({ ...p, fragment: undefined });
    const payload = payloadBlock(first);
    const body = encodeBlock({ type: BlockType.payload, number: 1, flags: payload.flags, crcType: payload.crcType, data: adu });
    return assembleBundle(primary, [...first.blocks.slice(0, -1), body]);
  }
}
