// Child process for the crash and durability tests: drives the compiled store (dist/) the way
// the agent will. It prints one line per outcome the parent checks:
//   READY <bundles>    store open (recovery done)
//   ACK <id>           put() resolved: the bundle is durable
//   DELETING <id>      delete() called: from now on the bundle may be gone
//   DEL <id>, EXP <id> delete() / expire() resolved: the bundle is durably gone
// Ids are "<tag>-<n>-<size>-<expiryMs>"; the bytes are a pure function of the id (support.ts).
// usage: node store-writer.mjs DIR TAG COUNT|forever [SEED [SPARES]]
// SPARES: store.spareSegments (default 0), for new segments written over recycled files.
import { createHash } from 'node:crypto';
import { BundleStore } from '../../../dist/flight/dtn/store/store.js';
import { createRootLogger } from '../../../dist/flight/log.js';
import { TelemetryRegistry } from '../../../dist/flight/tlm/channels.js';
import { EventLog } from '../../../dist/flight/tlm/events.js';

const [dir, tag, countArg, seedArg, sparesArg] = process.argv.slice(2);
const forever = countArg === 'forever';
const count = forever ? Infinity : Number(countArg);
let seed = Number(seedArg ?? 1) | 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

function bundleBytes(id, size) {
  const out = new Uint8Array(size);
  let block = createHash('sha256').update(id).digest();
  for (let at = 0; at < size; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - at)), at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const say = (line) => process.stdout.write(`${line}\n`);
const fail = (error) => {
  process.stderr.write(`store-writer: ${error?.stack ?? error}\n`);
  process.exit(1);
};

const log = createRootLogger({ level: 'silent' });
const store = await BundleStore.open({
  dir,
  // Never full (at most ~300 bundles of at most 100 KB are kept): no eviction or refusal here.
  capacityBytes: 64 * 1024 * 1024,
  segmentBytes: 64 * 1024,
  spareSegments: Number(sparesArg ?? 0),
  log,
  tlm: new TelemetryRegistry(),
  events: new EventLog(log, () => 0),
});
say(`READY ${store.count}`);

// Bundles this run may delete: those found at start and those it stores.
const acked = store.list().map((b) => b.id);
let started = 0;
let inFlight = 0;
let done = false;

function size() {
  const r = random();
  if (r < 0.05) return 20_000 + Math.floor(random() * 80_000);
  return 1 + Math.floor(random() * 3000);
}

function putOne() {
  const n = started++;
  const bytes = size();
  const now = Date.now();
  const expiryMs = random() < 0.2 ? now + 100 + Math.floor(random() * 1500) : now + 3_600_000;
  const id = `${tag}-${String(n).padStart(6, '0')}-${bytes}-${expiryMs}`;
  const priority = ['bulk', 'normal', 'expedited'][Math.floor(random() * 3)];
  inFlight++;
  store.put({ id, source: `ipn:${1 + (n % 3)}.1`, destination: 'ipn:9.1', priority, state: 'forward-pending', creationMs: now, expiryMs }, bundleBytes(id, bytes))
    .then(() => {
      say(`ACK ${id}`);
      acked.push(id);
      inFlight--;
      pump();
    }, fail);
}

function pump() {
  while (!done && inFlight < 8 && started < count) putOne();
  if (!forever && started >= count && inFlight === 0 && !done) {
    done = true;
    store.close().then(() => process.exit(0), fail);
  }
}

if (forever) {
  // Keep the store bounded: delete a random durable bundle now and then; expire and compact as the agent would.
  setInterval(() => {
    if (acked.length > 200) {
      const [id] = acked.splice(Math.floor(random() * acked.length), 1);
      if (store.has(id)) {
        say(`DELETING ${id}`);
        store.delete(id, 6).then((found) => found && say(`DEL ${id}`), fail);
      }
    }
  }, 2);
  setInterval(() => {
    store.expire(Date.now(), 16).then((gone) => { for (const b of gone) say(`EXP ${b.id}`); }, fail);
  }, 20);
  setInterval(() => {
    store.compact(32 * 1024).catch(fail);
  }, 10);
}
pump();
