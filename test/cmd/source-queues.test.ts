// The dispatcher's inbound queues: service order (sealed sources first, round-robin within a
// tier), clear sources folded into CLEAR_QUEUES queues by node, and the longest queue losing
// its newest envelope when the queues are full.
import { describe, expect, it } from 'vitest';
import { CLEAR_QUEUES, SourceQueues } from '../../flight/cmd/source-queues.js';

function drain<T>(q: SourceQueues<T>): Array<[T, string]> {
  const out: Array<[T, string]> = [];
  for (let next = q.peek(); next; next = q.peek()) {
    out.push([next.item, next.source]);
    q.take();
  }
  return out;
}

describe('SourceQueues', () => {
  it('serves sealed sources first, each tier round-robin, each source in arrival order', () => {
    const q = new SourceQueues<string>(64);
    for (const i of [1, 2, 3]) q.push(`c100-${i}`, { sourceNode: 100 });
    q.push('c101-1', { sourceNode: 101 });
    for (const i of [1, 2]) q.push(`s10-${i}`, { sealedBy: 10, sourceNode: 100 });
    q.push('s11-1', { sealedBy: 11 });
    expect(q.size).toBe(7);
    expect(drain(q)).toEqual([
      ['s10-1', 'sealed:10'], ['s11-1', 'sealed:11'], ['s10-2', 'sealed:10'],
      ['c100-1', 'clear:4'], ['c101-1', 'clear:5'], ['c100-2', 'clear:4'], ['c100-3', 'clear:4'],
    ]);
    expect(q.size).toBe(0);
  });

  it('folds clear sources into CLEAR_QUEUES queues by node, so claiming many nodes buys no more turns', () => {
    const q = new SourceQueues<number>(4096);
    for (let node = 0; node < 1000; node++) q.push(node, { sourceNode: node });
    q.push(-1, { sourceNode: undefined });
    const sources = new Set(drain(q).map(([, source]) => source));
    expect(sources.size).toBe(CLEAR_QUEUES + 1);
    expect(sources.has('clear:unknown')).toBe(true);
  });

  it('when full, drops the newest envelope of the longest queue: the flooder loses its own', () => {
    const q = new SourceQueues<string>(4);
    for (const i of [1, 2, 3, 4]) expect(q.push(`flood-${i}`, { sourceNode: 100 })).toBeUndefined();
    // Another source still gets in: the flood's newest makes room.
    expect(q.push('genuine', { sealedBy: 10 })).toBe('flood-4');
    // The flood's own arrival, its queue still the longest, is what is dropped.
    expect(q.push('flood-5', { sourceNode: 100 })).toBe('flood-5');
    expect(q.size).toBe(4);
    expect(drain(q).map(([item]) => item)).toEqual(['genuine', 'flood-1', 'flood-2', 'flood-3']);
  });
});
