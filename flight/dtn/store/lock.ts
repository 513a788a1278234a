// One writer per store: a LOCK file naming the writer's pid, created exclusively. A lock whose
// process is gone (the node was killed) is stale and taken over. Readers (`tern store ls`)
// never look at it, so they neither wait for nor block the running node.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
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

/** Takes the lock of the store in `dir`; returns the path to release. Throws StoreLockedError. */
export function acquireLock(dir: string): string {
  const path = join(dir, 'LOCK');
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (gone) {
        if ((gone as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw gone;
      }
      const pid = Number(text.trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new StoreLockedError(dir, pid);
      unlinkSync(path);
    }
  }
}

export function releaseLock(path: string): void {
  unlinkSync(path);
}
