// Durable file replacement: write a temporary file, fsync it, rename it over the target and
// fsync the directory, so that after a power loss the target holds either the old or the new
// contents, never a torn mix.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncDirectory off the event loop, for code that runs between frames (the store's flush path). */
export async function fsyncDirectoryAsync(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function writeFileDurable(path: string, data: Uint8Array | string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  fsyncDirectory(dirname(path));
}

/**
 * The same replacement without blocking the event loop, for writes made between frames by code
 * that can wait for them (a session key that must be durable before its accept leaves).
 */
export async function writeFileDurableAsync(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w', 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await fsyncDirectoryAsync(dirname(path));
}

/** Durable removal: the unlink is on disk once the directory is synced (a power loss after this
 *  cannot bring the file back). */
export function removeFileDurable(path: string): void {
  unlinkSync(path);
  fsyncDirectory(dirname(path));
}

/** The same removal without blocking the event loop. */
export async function removeFileDurableAsync(path: string): Promise<void> {
  await unlink(path);
  await fsyncDirectoryAsync(dirname(path));
}
