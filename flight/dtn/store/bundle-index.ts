// The in-memory index of stored bundles: one slot per bundle, its fields in typed arrays, found
// by id through an open-addressing hash table. Why not a Map of objects: recovery inserts every
// stored bundle at boot, and 100,000 objects in a Map cost about four times as long as reading
// the store's files (garbage collection and string hashing), while typed arrays cost nothing to
// collect. Slots are reused; a slot's `instance` tells a reused slot from the bundle it held.
import { PRIORITIES, STATES, type StoredBundle } from './meta.js';

/** FNV-1a over the id's characters (ids are ASCII). */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class BundleIndex {
  /** Live slots. */
  count = 0;
  /** Slots ever handed out; every live slot is below it. */
  highWater = 0;
  private capacity: number;

  ids: Array<string | undefined> = [];
  hash: Uint32Array;
  instance: Float64Array;
  creationMs: Float64Array;
  expiryMs: Float64Array;
  priority: Uint8Array;
  state: Uint8Array;
  /** 1 while the bundle's put() is not yet durable: has() sees it, get() and list() do not. */
  pending: Uint8Array;
  source: Int32Array;
  destination: Int32Array;
  segment: Uint32Array;
  offset: Uint32Array;
  /** Whole record on disk: head, metadata, data. What capacity and quotas count. */
  recordLength: Uint32Array;
  dataLength: Uint32Array;

  /** Hash table of slot + 1 (0: empty), linear probing, power-of-two length. */
  private table: Int32Array;
  private free: number[] = [];

  /** Interned EIDs: slots hold their number. */
  readonly eids: string[] = [];
  private readonly eidNumbers = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity;
    this.hash = new Uint32Array(initialCapacity);
    this.instance = new Float64Array(initialCapacity);
    this.creationMs = new Float64Array(initialCapacity);
    this.expiryMs = new Float64Array(initialCapacity);
    this.priority = new Uint8Array(initialCapacity);
    this.state = new Uint8Array(initialCapacity);
    this.pending = new Uint8Array(initialCapacity);
    this.source = new Int32Array(initialCapacity);
    this.destination = new Int32Array(initialCapacity);
    this.segment = new Uint32Array(initialCapacity);
    this.offset = new Uint32Array(initialCapacity);
    this.recordLength = new Uint32Array(initialCapacity);
    this.dataLength = new Uint32Array(initialCapacity);
    this.table = new Int32Array(initialCapacity * 2);
  }

  /** The slot holding `id`, or -1. */
  find(id: string, hash = idHash(id)): number {
    const mask = this.table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = this.table[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hash[slot] === hash && this.ids[slot] === id) return slot;
    }
  }

  /** A new slot for `id` (which must not be present); the caller fills in its fields. */
  add(id: string, hash = idHash(id)): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater === this.capacity) this.grow();
      slot = this.highWater++;
    }
    if ((this.count + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.ids[slot] = id;
    this.hash[slot] = hash;
    this.count++;
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
    return slot;
  }

  remove(slot: number): void {
    const mask = this.table.length - 1;
    let i = this.hash[slot]! & mask;
    while (this.table[i] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later members of the probe run into the hole, so lookups
    // never need tombstones.
    for (let j = (i + 1) & mask; this.table[j] !== 0; j = (j + 1) & mask) {
      const home = this.hash[this.table[j]! - 1]! & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        this.table[i] = this.table[j]!;
        i = j;
      }
    }
    this.table[i] = 0;
    this.ids[slot] = undefined;
    this.pending[slot] = 0;
    this.count--;
    this.free.push(slot);
  }

  /** Whether `slot` holds a bundle. */
  live(slot: number): boolean {
    return this.ids[slot] !== undefined;
  }

  eid(text: string): number {
    let n = this.eidNumbers.get(text);
    if (n === undefined) {
      n = this.eids.length;
      this.eids.push(text);
      this.eidNumbers.set(text, n);
    }
    return n;
  }

  /** The metadata of `slot` as an object (allocates: for list() and ls, not hot paths). */
  bundle(slot: number): StoredBundle {
    return {
      id: this.ids[slot]!,
      source: this.eids[this.source[slot]!]!,
      destination: this.eids[this.destination[slot]!]!,
      priority: PRIORITIES[this.priority[slot]!]!,
      state: STATES[this.state[slot]!]!,
      creationMs: this.creationMs[slot]!,
      expiryMs: this.expiryMs[slot]!,
      size: this.dataLength[slot]!,
    };
  }

  private grow(): void {
    const n = this.capacity * 2;
    const f64 = (a: Float64Array): Float64Array => { const b = new Float64Array(n); b.set(a); return b; };
    const u32 = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(n); b.set(a); return b; };
    const i32 = (a: Int32Array): Int32Array => { const b = new Int32Array(n); b.set(a); return b; };
    const u8 = (a: Uint8Array): Uint8Array => { const b = new Uint8Array(n); b.set(a); return b; };
    this.hash = u32(this.hash);
    this.instance = f64(this.instance);
    this.creationMs = f64(this.creationMs);
    this.expiryMs = f64(this.expiryMs);
    this.priority = u8(this.priority);
    this.state = u8(this.state);
    this.pending = u8(this.pending);
    this.source = i32(this.source);
    this.destination = i32(this.destination);
    this.segment = u32(this.segment);
    this.offset = u32(this.offset);
    this.recordLength = u32(this.recordLength);
    this.dataLength = u32(this.dataLength);
    this.capacity = n;
  }

  private rehash(length: number): void {
    this.table = new Int32Array(length);
    const mask = length - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.ids[slot] === undefined) continue;
      let i = this.hash[slot]! & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = slot + 1;
    }
  }
}
