// Protected memory as a node uses it (NodeProtection: 1 KiB blocks, CRC-32C on every access),
// through the owners' own paths, next to the same owners on plain memory in the same run: a
// parameter read (ParameterStore.get), an operator key read (the 1952 bytes a signature check
// takes from a 16-slot key table), and an executive frame (mode and frame counter by TMR vote,
// the slot list from its region) with three empty tasks. Figures to test/bench/results/ecc-node.json.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ParameterStore } from '../../flight/cmd/params.js';
import { CMD_PARAMS } from '../../flight/cmd/dictionary.js';
import { Fields } from '../../flight/config/fields.js';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import type { Task } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const READS = 256;
const FRAMES = 100;
const KEY_BYTES = 1952;

it('protected node state next to plain, through the owners', async () => {
  const core = new Core('simd');
  const silent = createRootLogger({ level: 'silent' });
  const node = () => {
    const tlm = new TelemetryRegistry();
    const events = new EventLog(silent, () => 0);
    const dir = mkdtempSync(join(tmpdir(), 'tern-bench-ecc-node-'));
    const protection = new NodeProtection({ core, tlm, events, dir, config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
    return { tlm, events, dir, protection };
  };
  const params = (protect: boolean) => {
    const n = node();
    const store = new ParameterStore(n.dir, n.events, n.tlm.define({ name: 'recoveries', type: 'u32', units: '', doc: '' }));
    store.declare(CMD_PARAMS);
    store.load();
    if (protect) store.protect(n.protection.region);
    return store;
  };
  const plainParams = params(false);
  const protectedParams = params(true);
  const names = plainParams.all().map((d) => d.name);

  const table = Uint8Array.from({ length: 16 * KEY_BYTES }, (_, i) => (i * 131) & 0xff);
  const keys = node().protection.region('operator-keys', table, true);
  const key = new Uint8Array(KEY_BYTES);

  const executive = (protect: boolean) => {
    const n = node();
    const tasks: Task[] = ['a', 'b', 'c'].map((name) => ({ name, criticality: 'normal', budgetUs: 100, run: () => undefined }));
    const slots = Array.from({ length: 10 }, (_, i) => (i % 2 ? ['a', 'b'] : ['c']));
    const t = { minorFrameMs: 10, slots };
    const schedule = parseSchedule(new Fields('bench.json'), { initialMode: 'NOMINAL', modes: { BOOT: t, NOMINAL: t, SAFE: t } }, 'exec', tasks);
    const clock = new VirtualClock(0);
    const exec = new Executive({ schedule, clock, tlm: n.tlm, events: n.events, ...(protect ? { state: n.protection.execState(schedule) } : {}) }, 0);
    return () => {
      for (let i = 0; i < FRAMES; i++) {
        clock.advanceTo(exec.nextDeadlineUs());
        exec.tick();
      }
    };
  };

  // Both sides give the same answers.
  expect(names.map((p) => protectedParams.get(p))).toEqual(names.map((p) => plainParams.get(p)));
  expect(keys.read(5 * KEY_BYTES, KEY_BYTES)).toEqual(table.subarray(5 * KEY_BYTES, 6 * KEY_BYTES));

  let sink = 0;
  const batch = (n: number, read: (i: number) => void) => () => {
    for (let i = 0; i < n; i++) read(i);
  };
  const rates = await compare({
    paramPlain: { bytes: 8 * READS, run: batch(READS, (i) => (sink += plainParams.get(names[i % names.length]!))) },
    paramProtected: { bytes: 8 * READS, run: batch(READS, (i) => (sink += protectedParams.get(names[i % names.length]!))) },
    keyPlain: { bytes: KEY_BYTES * 16, run: batch(16, (i) => key.set(table.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES))) },
    keyProtected: { bytes: KEY_BYTES * 16, run: batch(16, (i) => keys.readInto(i * KEY_BYTES, key)) },
    framesPlain: { bytes: FRAMES, run: executive(false) },
    framesProtected: { bytes: FRAMES, run: executive(true) },
  });
  const ns = (name: keyof typeof rates, per: number): number => (rates[name].opUs * 1000) / per;
  writeResult('ecc-node', {
    command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/ecc-node.bench.ts',
    ...settings,
    ns: {
      parameterGetPlain: ns('paramPlain', READS), parameterGetProtected: ns('paramProtected', READS),
      operatorKeyPlain: ns('keyPlain', 16), operatorKeyProtected: ns('keyProtected', 16),
      framePlain: ns('framesPlain', FRAMES), frameProtected: ns('framesProtected', FRAMES),
    },
    protectedVsPlain: {
      parameterGet: ns('paramProtected', READS) / ns('paramPlain', READS),
      operatorKey1952B: ns('keyProtected', 16) / ns('keyPlain', 16),
      executiveFrame: ns('framesProtected', FRAMES) / ns('framesPlain', FRAMES),
    },
  });
  expect(Number.isFinite(sink)).toBe(true);
});
