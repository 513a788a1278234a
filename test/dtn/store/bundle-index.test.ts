import { describe, expect, it } from 'vitest';
import { BundleIndex, bytesHash } from '../../../flight/dtn/store/bundle-index.js';
import { prng } from '../../support/prng.js';

describe('BundleIndex', () => {
  it('agrees with a Map through 50,000 random adds and removes, across growth, slot reuse and arena compaction', () => {
    const index = new BundleIndex(8);
    const model = new Map<string, number>();
    const random = prng(1);
    for (let step = 0; step < 50_000; step++) {
      // Few distinct ids, so removes and re-adds of the same id are frequent.
      const id = `ipn:${Math.floor(random() * 3000)}.1-${Math.floor(random() * 4)}`;
      // Ids come as strings (put) or as bytes (recovery reading a segment): both must agree.
      const bytes = Buffer.from(`..${id}..`, 'latin1');
      const hash = bytesHash(bytes, 2, id.length);
      const slot = random() < 0.5 ? index.find(id) : index.findBytes(bytes, 2, id.length, hash);
      expect(slot >= 0).toBe(model.has(id));
      if (slot >= 0) {
        expect(index.instance[slot]).toBe(model.get(id));
        if (random() < 0.6) {
          index.remove(slot);
          model.delete(id);
        }
      } else {
        const added = random() < 0.5 ? index.add(id) : index.addBytes(bytes, 2, id.length, hash);
        index.instance[added] = step;
        model.set(id, step);
      }
    }
    expect(index.count).toBe(model.size);
    for (const [id, instance] of model) {
      const slot = index.find(id);
      expect(index.instance[slot]).toBe(instance);
      expect(index.id(slot)).toBe(id);
    }
    let live = 0;
    for (let slot = 0; slot < index.highWater; slot++) if (index.live(slot)) live++;
    expect(live).toBe(model.size);
  });

  it('finds ids whose hashes collide in the table (long probe runs) and keeps them after removals', () => {
    const index = new BundleIndex(4);
    const ids = Array.from({ length: 2000 }, (_, i) => `b${i}`);
    for (const id of ids) index.add(id);
    for (const id of ids.filter((_, i) => i % 3 === 0)) index.remove(index.find(id));
    for (const [i, id] of ids.entries()) expect(index.find(id) >= 0).toBe(i % 3 !== 0);
  });

  it('interns EIDs and renders a slot as metadata', () => {
    const index = new BundleIndex();
    expect(index.eid('ipn:1.1')).toBe(index.eid('ipn:1.1'));
    // From bytes (as recovery reads them): more EIDs than cache lines, interleaved, always the right number.
    const eids = Array.from({ length: 200 }, (_, i) => `ipn:${i}.${i % 7}`);
    const numbers = eids.map((e) => index.eid(e));
    for (let round = 0; round < 3; round++) {
      for (const [i, e] of eids.entries()) {
        const bytes = Buffer.from(`<${e}>`, 'latin1');
        expect(index.eidBytes(bytes, 1, e.length)).toBe(numbers[i]);
      }
    }
    expect(index.eids[index.eidBytes(Buffer.from('dtn://new/x'), 0, 11)]).toBe('dtn://new/x');
    const slot = index.add('x');
    index.source[slot] = index.eid('ipn:1.1');
    index.destination[slot] = index.eid('ipn:2.1');
    index.priority[slot] = 2;
    index.state[slot] = 1;
    index.creationMs[slot] = 5;
    index.expiryMs[slot] = 9;
    index.dataLength[slot] = 100;
    expect(index.bundle(slot)).toEqual({ id: 'x', source: 'ipn:1.1', destination: 'ipn:2.1', priority: 'expedited', state: 'forward-pending', creationMs: 5, expiryMs: 9, size: 100 });
  });
});
