// `tern store ls --data DIR` lists the bundles stored under a node's data directory as JSON
// lines, from the segment files alone; `tern store cat --data DIR ID` writes one of them.
// Read-only and lock-free, so both work with the node stopped or running: it opens files for reading only, never takes the store's LOCK, and
// treats a write in progress at the end of the active segment as not there yet.
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, runGroup, UsageError, type CommandSpec, type GroupSpec, type OptionSpecs } from '../../cli-args.js';
import { writeFileDurable } from '../../durable.js';
import { TernError } from '../../errors.js';
import { BundleIndex } from './bundle-index.js';
import { segmentFileName } from './format.js';
import { recoverIndex, type Recovery } from './recovery.js';
import { readFully } from './segment-reader.js';
import { checkRecord } from './record-check.js';
import { storeDirectory } from './store.js';

const DATA = { data: { type: 'string', arg: 'DIR', doc: "the node's data directory (its bundles/ store) (required)" } } as const satisfies OptionSpecs;

const LS = {
  name: 'tern store ls',
  summary: 'Lists the bundles stored under a node\'s data directory as JSON lines (id, source, destination, size, state, priority, creationMs, expiryMs, segment, offset); a summary goes to stderr.',
  usage: ['--data DIR'],
  options: DATA,
  notes: 'Reads the segment files only, takes no lock: safe while the node runs.',
  examples: ['tern store ls --data var/mission/sat-20'],
} as const satisfies CommandSpec<OptionSpecs>;

const CAT = {
  name: 'tern store cat',
  summary: 'Writes one stored bundle, byte for byte as the node holds it, to stdout (or --out FILE), after checking its record CRCs.',
  usage: ['--data DIR ID [--out FILE]'],
  options: { ...DATA, out: { type: 'string', arg: 'FILE', doc: 'write to FILE instead of stdout' } },
  positionals: true,
  notes: 'ID is the id column of tern store ls. Exit codes: 0 written; 1 no such bundle, or its record is damaged; 2 bad input.',
  examples: ['tern store cat --data var/mission/sat-20 ipn:100.1/813992000123.4 > bundle.cbor && tern bundle inspect bundle.cbor'],
} as const satisfies CommandSpec<OptionSpecs>;

const STORE: GroupSpec = {
  name: 'tern store',
  summary: 'A node\'s durable bundle store, read from its files: the node may be running or stopped.',
  commands: {
    ls: { summary: 'list the stored bundles as JSON lines', run: (argv) => runCommand(LS, argv, (values) => list(required(values.data))) },
    cat: { summary: 'write one stored bundle (for tern bundle inspect)', run: (argv) => runCommand(CAT, argv, (values, positionals) => cat(required(values.data), positionals, values.out)) },
  },
  examples: ['tern store ls --data var/mission/sat-20', 'tern store cat --data var/mission/sat-20 ID > bundle.cbor'],
};

export function runStore(argv: string[]): Promise<number> {
  return runGroup(STORE, argv);
}

function required(data: string | undefined): string {
  if (data === undefined) throw new UsageError('--data DIR is required');
  return data;
}

/** The store's index, rebuilt read-only from the segment files; undefined (said why) if there is none. */
async function readIndex(name: string, data: string): Promise<{ dir: string; index: BundleIndex; recovery: Recovery } | undefined> {
  const dir = storeDirectory(data);
  if (!existsSync(dir)) {
    console.error(`${name}: no bundle store at ${dir}`);
    return undefined;
  }
  const index = new BundleIndex();
  try {
    return { dir, index, recovery: await recoverIndex(dir, index, { concurrentWriter: true }) };
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    console.error(`${name}: ${error.message}`);
    return undefined;
  }
}

async function cat(data: string, positionals: string[], out: string | undefined): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('give one bundle ID (the id column of tern store ls)');
  const id = positionals[0]!;
  const read = await readIndex(CAT.name, data);
  if (!read) return 1;
  const { dir, index } = read;
  const slot = index.find(id);
  if (slot < 0 || !index.live(slot)) {
    console.error(`${CAT.name}: no bundle ${JSON.stringify(id)} in ${dir} (tern store ls --data ${data} lists them)`);
    return 1;
  }
  const segment = index.segment[slot]!;
  const offset = index.offset[slot]!;
  const record = Buffer.alloc(index.recordLength[slot]!);
  const handle = await open(join(dir, segmentFileName(segment)), 'r');
  try {
    await readFully(handle, record, record.length, offset);
  } finally {
    await handle.close();
  }
  // The node may have compacted the segment away since the index was read: then the record
  // there is another, and the check says so rather than writing the wrong bytes.
  const problem = checkRecord(record, segment, offset, id, index.instance[slot]!);
  if (problem) {
    console.error(`${CAT.name}: bundle ${id} at segment ${segment} offset ${offset}: ${problem}`);
    return 1;
  }
  const bytes = record.subarray(record.length - index.dataLength[slot]!);
  if (out !== undefined) writeFileDurable(out, bytes);
  else await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())));
  console.error(`${id}: ${bytes.length} bytes${out === undefined ? '' : ` -> ${out}`}`);
  return 0;
}

async function list(data: string): Promise<number> {
  const read = await readIndex(LS.name, data);
  if (!read) return 1;
  const { index, recovery } = read;
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
