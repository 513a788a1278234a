// Shared by the store tests: a store on a fresh temporary directory with its own telemetry and
// event log, bundle metadata, and bundle bytes that are a pure function of the id (so a test or
// a crash-test parent can check any bundle byte for byte without keeping a copy).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { TRAILER_BYTES, readTrailer } from '../../../flight/dtn/store/format.js';
import type { BundleMeta } from '../../../flight/dtn/store/meta.js';
import { BundleStore, type BundleStoreOptions } from '../../../flight/dtn/store/store.js';
import { createRootLogger } from '../../../flight/log.js';
import { TelemetryRegistry } from '../../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../../flight/tlm/events.js';

const made: string[] = [];

/** A fresh directory under the system temp dir, removed after the test file (unless TERN_KEEP_TEMP is set). */
export function tempDir(prefix = 'tern-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterAll(() => {
  if (process.env.TERN_KEEP_TEMP) return;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export interface OpenedStore {
  store: BundleStore;
  tlm: TelemetryRegistry;
  events: EventRecord[];
  value(channel: string): number;
}

export async function openStore(dir: string, options: Partial<BundleStoreOptions> = {}): Promise<OpenedStore> {
  const tlm = new TelemetryRegistry();
  const log = createRootLogger({ level: 'silent' });
  const eventLog = new EventLog(log, () => 0);
  const events: EventRecord[] = [];
  eventLog.onEvent((e) => events.push(e));
  const store = await BundleStore.open({ dir, capacityBytes: 64 * 1024 * 1024, log, tlm, events: eventLog, ...options });
  return { store, tlm, events, value: (name) => tlm.get(`dtn.store.${name}`)!.value };
}

export function meta(id: string, overrides: Partial<BundleMeta> = {}): BundleMeta {
  return {
    id,
    source: 'ipn:12.1',
    destination: 'ipn:3.4',
    priority: 'normal',
    state: 'forward-pending',
    creationMs: 1_700_000_000_000,
    expiryMs: 1_700_000_000_000 + 3_600_000,
    ...overrides,
  };
}

/** The store lists exactly the bundles of `expected` (id to size), each byte for byte. */
export async function expectExactly(store: BundleStore, expected: Map<string, number>): Promise<void> {
  expect(store.list().map((b) => b.id).sort()).toEqual([...expected.keys()].sort());
  for (const [id, size] of expected) expect(Buffer.from((await store.get(id))!).equals(bundleBytes(id, size)), id).toBe(true);
}

/** `size` bytes determined by `id` alone. */
export function bundleBytes(id: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let block = createHash('sha256').update(id).digest();
  for (let at = 0; at < size; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - at)), at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/**
 * Cuts the summary and trailer off a segment sealed by close(), leaving it as a process that
 * died before closing would have: recovery then scans it record by record.
 */
export function unseal(file: string): void {
  const bytes = readFileSync(file);
  const summaryOffset = readTrailer(bytes.subarray(bytes.length - TRAILER_BYTES), Number(basename(file).slice(0, 10)));
  if (summaryOffset < 0) throw new Error(`${file} is not sealed`);
  truncateSync(file, summaryOffset);
}

/**
 * A real filesystem of `bytes` (tmpfs mounted with size=), so a test can fill the device and
 * free it again. Needs root (CI and the development machines run as root): when the mount is
 * refused the test fails, saying why, rather than skip what it is there to prove.
 */
export function smallFilesystem(bytes: number): { dir: string; unmount(): void } {
  // Not tempDir(): its cleanup must not reach into the mount; unmount() removes the directory.
  const dir = mkdtempSync(join(tmpdir(), 'tern-small-fs-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    throw new Error(`cannot mount a ${bytes}-byte tmpfs at ${dir} (${mount.error?.message ?? mount.stderr.trim()}): this test needs root to make a device it can fill`);
  }
  return {
    dir,
    unmount: () => {
      const done = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`umount ${dir}: ${done.stderr.trim()}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `file` until the device is full; returns how many bytes it took. */
export function fillDevice(file: string): number {
  const fd = openSync(file, 'a');
  const chunk = Buffer.alloc(4096, 0x5a);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return written;
        throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}
