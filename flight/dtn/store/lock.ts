// One writer per store: a LOCK naming the writer's pid, created exclusively. A lock whose process
// is gone (the node was killed) is stale and taken over. Readers (`tern store ls`) never look at
// it, so they neither wait for nor block the running node.
//
// The LOCK is a symbolic link whose target is the pid: creating it is as exclusive as creating a
// file, and a short link target lives in the inode, so taking the lock needs no free data block
// and a node restarts on a full device. LOCK files of older versions (a regular file holding the
// pid) are still read.
import { lstatSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreLockedError } from './errors.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a LOCK names; undefined if it went away meanwhile. */
function holder(path: string): number | undefined {
  try {
    const text = lstatSync(path).isSymbolicLink() ? readlinkSync(path) : readFileSync(path, 'utf8');
    return Number(text.trim());
  } catch (gone) {
    if ((gone as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // released meanwhile
    throw gone;
  }
}

/** Takes the lock of the store in `dir`; returns the path to release. Throws StoreLockedError. */
export function acquireLock(dir: string): string {
  const path = join(dir, 'LOCK');
  for (;;) {
    try {
      symlinkSync(String(process.pid), path);
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = holder(path);
      if (pid === undefined) continue;
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new StoreLockedError(dir, pid);
      unlinkSync(path);
    }
  }
}

export function releaseLock(path: string): void {
  unlinkSync(path);
}
