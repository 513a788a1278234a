// STORE-013: `tern store ls` as a real child process (node dist/gse/tern.js, after npm run build).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../flight/dtn/store/format.js';
import { storeDirectory } from '../../../flight/dtn/store/store.js';
import { REPO, TERN } from '../../support/node-process.js';
import { bundleBytes, meta, openStore, tempDir, unseal } from './support.js';

interface Result { code: number | null; stdout: string; stderr: string }

function tern(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TERN, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (stdout: string): Array<Record<string, unknown>> => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Name, size, mtime and content hash of every file: what "read-only" must leave alone. */
function snapshot(dir: string): string[] {
  return readdirSync(dir).sort().map((f) => {
    const s = statSync(join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}`;
  });
}

describe('tern store ls (child process)', () => {
  it('lists a stopped node\'s bundles as JSON lines from the files alone, changing nothing', async () => {
    const data = tempDir('tern-ls-');
    const { store } = await openStore(storeDirectory(data), { segmentBytes: 8192 });
    for (let i = 0; i < 30; i++) {
      await store.put(meta(`ls-${i}`, { priority: (['bulk', 'normal', 'expedited'] as const)[i % 3], expiryMs: 1_800_000_000_000 + i }), bundleBytes(`ls-${i}`, 500 + i));
    }
    for (let i = 0; i < 30; i += 4) await store.delete(`ls-${i}`, 6);
    const expected = store.list().sort((a, b) => a.id.localeCompare(b.id));
    await store.close();
    const before = snapshot(storeDirectory(data));

    const result = await tern(['store', 'ls', '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    const listed = lines(result.stdout);
    expect(listed.map(({ segment, offset, ...b }) => b).sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(expected);
    expect(listed.every((l) => typeof l.segment === 'number' && typeof l.offset === 'number')).toBe(true);
    // In storage order.
    const order = listed.map((l) => (l.segment as number) * 1e9 + (l.offset as number));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(result.stderr).toMatch(new RegExp(`^${expected.length} bundles, ${expected.reduce((s, b) => s + b.size, 0)} bytes, in \\d+ segments; 0 corrupt records`));
    expect(snapshot(storeDirectory(data))).toEqual(before);
  });

  it('lists a running node\'s store while it writes and compacts, without its lock and without disturbing it', async () => {
    const data = tempDir('tern-ls-live-');
    const dir = storeDirectory(data);
    const { store } = await openStore(dir, { segmentBytes: 16 * 1024 });
    const stored = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await store.put(meta(`live-${i}`), bundleBytes(`live-${i}`, 300));
      stored.add(`live-${i}`);
    }
    for (let i = 0; i < 200; i += 2) {
      await store.delete(`live-${i}`, 6);
      stored.delete(`live-${i}`);
    }
    const lock = readlinkSync(join(dir, 'LOCK'));
    const before = new Set(stored);
    // Keep writing and compacting while ls runs.
    let writing = true;
    let n = 200;
    const attempted = new Set(stored);
    const writer = (async () => {
      while (writing) {
        const id = `live-${n++}`;
        attempted.add(id);
        await store.put(meta(id), bundleBytes(id, 300));
        await store.compact(4096);
      }
    })();
    const result = await tern(['store', 'ls', '--data', data]);
    writing = false;
    await writer;
    expect(result.code, result.stderr).toBe(0);
    const ids = lines(result.stdout).map((l) => String(l.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of before) expect(ids).toContain(id);
    for (const id of ids) expect(attempted.has(id)).toBe(true);
    expect(readlinkSync(join(dir, 'LOCK'))).toBe(lock);
    await store.put(meta('after-ls'), bundleBytes('after-ls', 10));
    expect(store.has('after-ls')).toBe(true);
    await store.close();
  });

  it('reports corrupt records it skipped, and exits non-zero on usage errors, a missing store or an unreadable format', async () => {
    const data = tempDir('tern-ls-bad-');
    const dir = storeDirectory(data);
    const { store } = await openStore(dir);
    for (let i = 0; i < 5; i++) await store.put(meta(`c${i}`), bundleBytes(`c${i}`, 400));
    await store.close();
    const file = join(dir, '0000000001.seg');
    unseal(file); // as a node killed before closing leaves it: ls scans it record by record
    const bytes = readFileSync(file);
    bytes[32 + 9]! ^= 0xff; // first record's head
    writeFileSync(file, bytes);
    const skipped = await tern(['store', 'ls', '--data', data]);
    expect(skipped.code).toBe(0);
    expect(lines(skipped.stdout).map((l) => l.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(skipped.stderr).toMatch(/1 corrupt records/);

    expect((await tern(['store', 'ls'])).code).toBe(2);
    expect((await tern(['store'])).code).toBe(2);
    expect((await tern(['store', 'ls', '--bogus'])).code).toBe(2);
    const help = await tern(['store', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/tern store ls --data /);
    const missing = await tern(['store', 'ls', '--data', join(data, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no bundle store at/);

    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(9, 8);
    newer.writeUInt32LE(crc32c(newer.subarray(0, 28)), 28);
    const other = storeDirectory(join(data, 'newer'));
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, '0000000001.seg'), newer);
    const refused = await tern(['store', 'ls', '--data', join(data, 'newer')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/format version 9 is not supported/);
  });
});
