// `tern store ls --data DIR`: lists the bundles stored under a node's data directory as JSON
// lines, from the segment files alone. Read-only and lock-free, so it works with the node
// stopped or running: it opens files for reading only, never takes the store's LOCK, and
// treats a write in progress at the end of the active segment as not there yet.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TernError } from '../../errors.js';
import { BundleIndex } from './bundle-index.js';
import { recoverIndex } from './recovery.js';
import { storeDirectory } from './store.js';

export const STORE_USAGE = `usage: tern store ls --data DIR

Lists the bundles stored under the node data directory DIR (its bundles/ store) as JSON lines:
id, source, destination, size, state, priority, creationMs, expiryMs, segment, offset.
A summary goes to stderr. Reads the files only: safe while the node runs.`;

export async function runStore(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    console.log(STORE_USAGE);
    return 0;
  }
  if (command !== 'ls') {
    console.error(STORE_USAGE);
    return 2;
  }
  let values: { data?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { data: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    console.error(`tern store ls: ${(error as Error).message}\n\n${STORE_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(STORE_USAGE);
    return 0;
  }
  if (!values.data) {
    console.error(STORE_USAGE);
    return 2;
  }
  const dir = storeDirectory(values.data);
  if (!existsSync(dir)) {
    console.error(`tern store ls: no bundle store at ${dir}`);
    return 1;
  }
  const index = new BundleIndex();
  let recovery;
  try {
    recovery = await recoverIndex(dir, index, { concurrentWriter: true });
  } catch (error) {
    if (error instanceof TernError) {
      console.error(`tern store ls: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const slots: number[] = [];
  for (let slot = 0; slot < index.highWater; slot++) if (index.live(slot)) slots.push(slot);
  slots.sort((a, b) => index.segment[a]! - index.segment[b]! || index.offset[a]! - index.offset[b]!);
  let bytes = 0;
  const lines: string[] = [];
  for (const slot of slots) {
    const b = index.bundle(slot);
    bytes += b.size;
    lines.push(JSON.stringify({
      id: b.id, source: b.source, destination: b.destination, size: b.size, state: b.state, priority: b.priority,
      creationMs: b.creationMs, expiryMs: b.expiryMs, segment: index.segment[slot], offset: index.offset[slot],
    }));
    if (lines.length === 4096) await write(lines.splice(0));
  }
  await write(lines);
  console.error(
    `${slots.length} bundles, ${bytes} bytes, in ${recovery.segments.length} segments` +
      `; ${recovery.corruptRecords} corrupt records (${recovery.corruptBytes} bytes) and ${recovery.tornBytes} unfinished bytes skipped`,
  );
  return 0;
}

/** Writes lines to stdout, waiting for the pipe to drain (a large store lists millions). */
function write(lines: string[]): Promise<void> {
  if (lines.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => process.stdout.write(`${lines.join('\n')}\n`, (error) => (error ? reject(error) : resolve())));
}
