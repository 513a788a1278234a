// A min-heap of index slots ordered by expiry time, with each slot's position kept so a bundle
// deleted for any reason leaves the heap in O(log n). The store keeps one per priority class:
// lifetime expiry takes the earliest of the three tops, eviction takes from the lowest class.
import type { BundleIndex } from './bundle-index.js';

export class ExpiryHeap {
  private heap: number[] = [];
  /** Position of each slot in `heap`, -1 when absent. */
  private position = new Int32Array(0);

  constructor(private readonly index: BundleIndex) {}

  get size(): number {
    return this.heap.length;
  }

  /** The slot expiring first, or -1. */
  peek(): number {
    return this.heap.length === 0 ? -1 : this.heap[0]!;
  }

  has(slot: number): boolean {
    return slot < this.position.length && this.position[slot]! >= 0;
  }

  push(slot: number): void {
    this.ensure(slot);
    this.heap.push(slot);
    this.position[slot] = this.heap.length - 1;
    this.up(this.heap.length - 1);
  }

  /** Adds many slots at once in O(n) (recovery). */
  pushAll(slots: ArrayLike<number>): void {
    let highest = -1;
    for (let i = 0; i < slots.length; i++) if (slots[i]! > highest) highest = slots[i]!;
    if (highest >= 0) this.ensure(highest);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      this.position[slot] = this.heap.length;
      this.heap.push(slot);
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  remove(slot: number): void {
    const i = this.position[slot]!;
    const last = this.heap.pop()!;
    this.position[slot] = -1;
    if (i === this.heap.length) return;
    this.heap[i] = last;
    this.position[last] = i;
    this.down(i);
    this.up(this.position[last]!);
  }

  private ensure(slot: number): void {
    if (slot < this.position.length) return;
    const grown = new Int32Array(Math.max(1024, (slot + 1) * 2)).fill(-1);
    grown.set(this.position);
    this.position = grown;
  }

  private less(a: number, b: number): boolean {
    const ea = this.index.expiryMs[a]!;
    const eb = this.index.expiryMs[b]!;
    return ea < eb || (ea === eb && this.index.instance[a]! < this.index.instance[b]!);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    this.position[b] = i;
    this.position[a] = j;
  }
}
