// STORE-012: a failed write fails the store for good (StoreIoError, counted, evented), nothing
// unwritten is acknowledged, and a reopen recovers exactly what was acknowledged. The failure
// is real: a child process runs with a file size limit (ulimit -f, SIGXFSZ ignored), so the
// kernel refuses the write that would cross it with EFBIG.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../support/node-process.js';
import { bundleBytes, openStore, tempDir } from './support.js';

const CHILD = `
import { BundleStore } from '${REPO}dist/flight/dtn/store/store.js';
import { createRootLogger } from '${REPO}dist/flight/log.js';
import { TelemetryRegistry } from '${REPO}dist/flight/tlm/channels.js';
import { EventLog } from '${REPO}dist/flight/tlm/events.js';
import { createHash } from 'node:crypto';
const bytes = (id) => { const out = new Uint8Array(3000); let b = createHash('sha256').update(id).digest();
  for (let at = 0; at < out.length; at += b.length) { out.set(b.subarray(0, Math.min(b.length, out.length - at)), at); b = createHash('sha256').update(b).digest(); } return out; };
const log = createRootLogger({ level: 'silent' });
const tlm = new TelemetryRegistry();
const events = new EventLog(log, () => 0);
events.onEvent((e) => console.log('EVENT ' + e.name));
const store = await BundleStore.open({ dir: process.argv[1], capacityBytes: 1 << 30, log, tlm, events });
const meta = (id) => ({ id, source: 'ipn:1.1', destination: 'ipn:2.1', priority: 'normal', state: 'forward-pending', creationMs: 0, expiryMs: 9e12 });
for (let i = 0; ; i++) {
  const id = 'f' + i;
  try {
    await Promise.all([store.put(meta(id), bytes(id)), store.put(meta(id + 'b'), bytes(id + 'b'))]);
    console.log('ACK ' + id); console.log('ACK ' + id + 'b');
  } catch (error) {
    console.log('FAILED ' + error.code);
    try { await store.put(meta('after'), bytes('after')); } catch (again) { console.log('THEN ' + again.code); }
    console.log('IOERRORS ' + tlm.get('dtn.store.ioErrors').value);
    await store.close();
    console.log('CLOSED');
    break;
  }
}
`;

describe('store I/O failure (a real EFBIG from a file size limit)', () => {
  it('fails every write after the first failure, acknowledges nothing unwritten, and recovers what was acknowledged', async () => {
    const dir = join(tempDir('tern-store-efbig-'), 'bundles');
    // bash counts ulimit -f in KiB: a segment may grow to 200 KiB.
    const run = spawnSync('bash', ['-c', `ulimit -f 200; trap '' XFSZ; exec "$0" --input-type=module -e "$1" "$2"`, process.execPath, CHILD, dir], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const acked = lines.filter((l) => l.startsWith('ACK ')).map((l) => l.slice(4));
    expect(acked.length).toBeGreaterThan(20);
    expect(lines).toContain('FAILED STORE_IO');
    expect(lines).toContain('THEN STORE_IO');
    expect(lines).toContain('EVENT STORE_IO_FAILED');
    expect(lines).toContain('IOERRORS 1');
    expect(lines).toContain('CLOSED');

    const { store, value } = await openStore(dir);
    const listed = store.list().map((b) => b.id);
    for (const id of acked) expect(listed).toContain(id);
    expect(listed.length).toBeLessThanOrEqual(acked.length + 2); // at most the failed pair, if it reached the disk whole
    for (const id of listed) expect(Buffer.from((await store.get(id))!).equals(bundleBytes(id, 3000))).toBe(true);
    expect(value('corruptRecords')).toBe(0);
    await store.close();
  });
});
