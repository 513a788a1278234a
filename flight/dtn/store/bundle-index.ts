// The in-memory index of stored bundles: one slot per bundle, its fields in typed arrays, its
// id as bytes in one arena, found by id through an open-addressing hash table. Why not a Map of
// objects keyed by id strings: recovery inserts every stored bundle at boot, and 100,000 objects
// and strings cost several times as long as reading the store's files (allocation, garbage
// collection, string hashing), while typed arrays and an arena cost next to nothing. Recovery
// indexes ids straight from the bytes it reads; strings are made only when asked for. Slots are
// reused; a slot's `instance` tells a reused slot from the bundle it held.
import { latin1 } from './format.js';
import { PRIORITIES, STATES, type StoredBundle } from './meta.js';

/** FNV-1a over the id's characters (ids are ASCII, so characters and bytes hash alike). */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** idHash() of an id given as bytes. */
export function bytesHash(bytes: Uint8Array, start: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = start, end = start + length; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}


export class BundleIndex {
  /** Live slots. */
  count = 0;
  /** Slots ever handed out; every live slot is below it. */
  highWater = 0;
  private capacity: number;

  hash: Uint32Array;
  /** Where each slot's id is in the arena; length 0 marks a free slot. */
  idStart: Uint32Array;
  idLength: Uint16Array;
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
  /** BundleMeta.reportTo as an EID number, -1 for none (as add() leaves it). */
  reportTo: Int32Array;
  /** BundleMeta.reportTime, 1 or 0. */
  reportTime: Uint8Array;

  /** Hash table of slot + 1 (0: empty), linear probing, power-of-two length. */
  private table: Int32Array;
  private free: number[] = [];
  /** Id bytes, appended; the bytes of removed ids are dead until the arena is compacted. */
  private arena = Buffer.alloc(64 * 1024);
  private arenaUsed = 0;
  private arenaDead = 0;

  /** Interned EIDs: slots hold their number. */
  readonly eids: string[] = [];
  private readonly eidNumbers = new Map<string, number>();
  /** EID numbers by the low bits of their bytes' hash: recovery finds most EIDs here without a string. */
  private readonly eidCache = new Int32Array(64).fill(-1);

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity;
    this.hash = new Uint32Array(initialCapacity);
    this.idStart = new Uint32Array(initialCapacity);
    this.idLength = new Uint16Array(initialCapacity);
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
    this.reportTo = new Int32Array(initialCapacity);
    this.reportTime = new Uint8Array(initialCapacity);
    this.table = new Int32Array(initialCapacity * 2);
  }

  /** Makes room for `n` more bundles at once (recovery knows how many are coming). */
  reserve(n: number): void {
    if (this.capacity < this.highWater + n) this.grow(Math.max(this.capacity * 2, this.highWater + n));
    let table = this.table.length;
    while ((this.count + n) * 2 > table) table *= 2;
    if (table !== this.table.length) this.rehash(table);
  }

  /** The slot holding `id`, or -1. */
  find(id: string): number {
    const hash = idHash(id);
    const mask = this.table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = this.table[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hash[slot] === hash && this.idIs(slot, id)) return slot;
    }
  }

  /** The slot holding the id in `bytes[start, start + length)` (whose bytesHash() is `hash`), or -1. */
  findBytes(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const mask = this.table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = this.table[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hash[slot] === hash && this.idEquals(slot, bytes, start, length)) return slot;
    }
  }

  /** A new slot for `id` (which must not be present); the caller fills in its fields. */
  add(id: string): number {
    const at = this.reserveId(id.length);
    const arena = this.arena;
    for (let i = 0; i < id.length; i++) arena[at + i] = id.charCodeAt(i);
    return this.insert(idHash(id), at, id.length);
  }

  /** add() for an id given as bytes (whose bytesHash() is `hash`), as recovery reads it. */
  addBytes(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const at = this.reserveId(length);
    const arena = this.arena;
    for (let i = 0; i < length; i++) arena[at + i] = bytes[start + i]!;
    return this.insert(hash, at, length);
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
    this.arenaDead += this.idLength[slot]!;
    this.idLength[slot] = 0;
    this.pending[slot] = 0;
    this.count--;
    this.free.push(slot);
  }

  /** Whether `slot` holds a bundle. */
  live(slot: number): boolean {
    return this.idLength[slot] !== 0;
  }

  /** The id of a live slot (allocates a string). */
  id(slot: number): string {
    const start = this.idStart[slot]!;
    return latin1(this.arena, start, start + this.idLength[slot]!);
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

  /** eid() of an EID given as bytes. */
  eidBytes(bytes: Buffer, start: number, length: number): number {
    const line = bytesHash(bytes, start, length) & 63;
    const cached = this.eidCache[line]!;
    if (cached >= 0) {
      const text = this.eids[cached]!;
      let same = text.length === length;
      for (let i = 0; same && i < length; i++) same = bytes[start + i] === text.charCodeAt(i);
      if (same) return cached;
    }
    const n = this.eid(latin1(bytes, start, start + length));
    this.eidCache[line] = n;
    return n;
  }

  /** Copies a live slot's id bytes into `target` at `at`; returns how many. */
  copyId(slot: number, target: Buffer, at: number): number {
    const start = this.idStart[slot]!;
    return this.arena.copy(target, at, start, start + this.idLength[slot]!);
  }

  /**
   * Fills an empty index with `n` bundles in slots 0..n-1 (a saved snapshot): `fill` writes
   * their columns and returns their ids back to back in slot order; the hash table is built once.
   */
  load(n: number, eids: readonly string[], fill: (index: this) => Buffer): void {
    if (this.highWater !== 0) throw new Error('BundleIndex.load: the index is not empty');
    if (n > this.capacity) this.grow(n);
    const ids = fill(this);
    this.arena = Buffer.alloc(Math.max(64 * 1024, 2 * ids.length));
    ids.copy(this.arena);
    let at = 0;
    for (let slot = 0; slot < n; slot++) {
      this.idStart[slot] = at;
      at += this.idLength[slot]!;
    }
    this.arenaUsed = at;
    this.count = n;
    this.highWater = n;
    let table = this.table.length;
    while (n * 2 > table) table *= 2;
    this.rehash(table);
    for (const eid of eids) this.eid(eid);
  }

  /** The metadata of `slot` as an object (allocates: for list() and ls, not hot paths). */
  bundle(slot: number): StoredBundle {
    const reportTo = this.reportTo[slot]!;
    return {
      id: this.id(slot),
      source: this.eids[this.source[slot]!]!,
      destination: this.eids[this.destination[slot]!]!,
      priority: PRIORITIES[this.priority[slot]!]!,
      state: STATES[this.state[slot]!]!,
      creationMs: this.creationMs[slot]!,
      expiryMs: this.expiryMs[slot]!,
      size: this.dataLength[slot]!,
      ...(reportTo >= 0 ? { reportTo: this.eids[reportTo]!, reportTime: this.reportTime[slot] === 1 } : {}),
    };
  }

  private insert(hash: number, at: number, length: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater === this.capacity) this.grow(this.capacity * 2);
      slot = this.highWater++;
    }
    if ((this.count + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.hash[slot] = hash;
    this.idStart[slot] = at;
    this.idLength[slot] = length;
    // No report facts until the writer sets them: EID number 0 is a real EID, and a reused slot
    // would otherwise keep the facts of the bundle that held it before.
    this.reportTo[slot] = -1;
    this.reportTime[slot] = 0;
    this.count++;
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
    return slot;
  }

  private idIs(slot: number, id: string): boolean {
    if (this.idLength[slot] !== id.length) return false;
    const start = this.idStart[slot]!;
    for (let i = 0; i < id.length; i++) if (this.arena[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  private idEquals(slot: number, bytes: Uint8Array, start: number, length: number): boolean {
    if (this.idLength[slot] !== length) return false;
    const at = this.idStart[slot]!;
    for (let i = 0; i < length; i++) if (this.arena[at + i] !== bytes[start + i]) return false;
    return true;
  }

  /**
   * Arena room for an id of `length` bytes. A full arena is compacted (removed ids left out)
   * when at least half of it is dead, else doubled; either way half of it or more is free
   * afterwards, so each id byte is copied O(1) times on average.
   */
  private reserveId(length: number): number {
    if (this.arenaUsed + length > this.arena.length) {
      const live = this.arenaUsed - this.arenaDead;
      const next = Buffer.alloc(Math.max(64 * 1024, 2 * (live + length)));
      if (this.arenaDead * 2 >= this.arenaUsed) {
        let used = 0;
        for (let slot = 0; slot < this.highWater; slot++) {
          const n = this.idLength[slot]!;
          if (n === 0) continue;
          const from = this.idStart[slot]!;
          for (let i = 0; i < n; i++) next[used + i] = this.arena[from + i]!;
          this.idStart[slot] = used;
          used += n;
        }
        this.arenaUsed = used;
        this.arenaDead = 0;
      } else {
        this.arena.copy(next, 0, 0, this.arenaUsed);
      }
      this.arena = next;
    }
    const at = this.arenaUsed;
    this.arenaUsed += length;
    return at;
  }

  private grow(n: number): void {
    const f64 = (a: Float64Array): Float64Array => { const b = new Float64Array(n); b.set(a); return b; };
    const u32 = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(n); b.set(a); return b; };
    const i32 = (a: Int32Array): Int32Array => { const b = new Int32Array(n); b.set(a); return b; };
    const u8 = (a: Uint8Array): Uint8Array => { const b = new Uint8Array(n); b.set(a); return b; };
    this.hash = u32(this.hash);
    this.idStart = u32(this.idStart);
    const idLength = new Uint16Array(n);
    idLength.set(this.idLength);
    this.idLength = idLength;
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
    this.reportTo = i32(this.reportTo);
    this.reportTime = u8(this.reportTime);
    this.capacity = n;
  }

  private rehash(length: number): void {
    this.table = new Int32Array(length);
    const mask = length - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.idLength[slot] === 0) continue;
      let i = this.hash[slot]! & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = slot + 1;
    }
  }
}
