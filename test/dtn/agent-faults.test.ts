// The agent when the store fails under it: a read that fails for a while (the bundle is read
// again with backoff, not stranded), and a disk that fills and frees (agent-disk-full.test.ts).
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentFileName } from '../../flight/dtn/store/format.js';
import { until } from '../support/wait.js';
import { FROM, bundle, closeStores, setup } from './agent-harness.js';

afterEach(closeStores);

describe('bundle agent, store faults', () => {
  it('retries a bundle whose read failed, with backoff, until the read succeeds; it stays stored meanwhile', async () => {
    // A bundle in a sealed segment: after a restart its file is opened by its first read.
    const first = await setup({ store: { segmentBytes: 4096 } });
    first.link.up = false;
    const b = bundle(3, 1, 0, 'read me later');
    await first.agent.accept(b.bytes, FROM);
    for (let i = 1; first.store.list().length < 12; i++) await first.agent.accept(bundle(9, 1, i, 'x'.repeat(600)).bytes, FROM);
    await closeStores();
    const s = await setup({ dir: first.dir, markPath: first.markPath, store: { segmentBytes: 4096 } });
    s.agent.resume();
    // The file vanishes for a while, as a read fails with EMFILE or EIO: a real failed open.
    const segment = join(s.dir, segmentFileName(1));
    renameSync(segment, `${segment}.away`);
    await s.dispatch();
    await until(() => s.value('dtn.agent.readFaults') >= 1, 'the failed read');
    expect(s.events).toContain('DTN_READ_FAULT');
    expect(s.link.sent).toHaveLength(0);
    expect(s.store.list().some((x) => x.destination === 'ipn:3.1')).toBe(true); // not deleted
    await s.dispatch(); // still failing: the backoff grows, the bundle stays
    renameSync(`${segment}.away`, segment);
    await until(async () => {
      await s.dispatch();
      return s.link.sent.length === 1;
    }, 'the bundle to be read again and forwarded');
    expect(s.store.list().some((x) => x.destination === 'ipn:3.1')).toBe(false); // acknowledged by the next hop
    expect(s.value('dtn.agent.forwarded')).toBe(1);
  });
});
