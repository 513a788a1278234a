import { describe, expect, it } from 'vitest';
import { BundleIndex } from '../../../flight/dtn/store/bundle-index.js';
import { ExpiryHeap } from '../../../flight/dtn/store/expiry-heap.js';
import { prng } from '../../support/prng.js';

describe('ExpiryHeap', () => {
  it('always yields the earliest expiry, through random pushes, bulk loads and removals from the middle', () => {
    const index = new BundleIndex();
    const heap = new ExpiryHeap(index);
    const random = prng(7);
    const model = new Set<number>();
    const bulk: number[] = [];
    for (let i = 0; i < 500; i++) {
      const slot = index.add(`bulk-${i}`);
      index.expiryMs[slot] = Math.floor(random() * 1000);
      bulk.push(slot);
      model.add(slot);
    }
    heap.pushAll(bulk);
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      if (r < 0.45) {
        const slot = index.add(`s-${step}`);
        index.expiryMs[slot] = Math.floor(random() * 1000);
        index.instance[slot] = step;
        heap.push(slot);
        model.add(slot);
      } else if (r < 0.7 && model.size > 0) {
        const victims = [...model];
        const slot = victims[Math.floor(random() * victims.length)]!;
        heap.remove(slot);
        model.delete(slot);
        index.remove(slot);
      } else if (model.size > 0) {
        const top = heap.peek();
        const min = Math.min(...[...model].map((s) => index.expiryMs[s]!));
        expect(index.expiryMs[top]).toBe(min);
        heap.remove(top);
        model.delete(top);
        index.remove(top);
      }
      expect(heap.size).toBe(model.size);
    }
    for (const slot of model) expect(heap.has(slot)).toBe(true);
  });
});
