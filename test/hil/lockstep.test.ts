// Lockstep: the same scenario run twice against a flight node child process started with
// --lockstep (frames only when the bench steps them, on a virtual clock) gives the same
// telemetry, bit for bit: every housekeeping record, event and command response the bench
// received, in the same order. What is set aside before comparing, and why:
// - tMs and dtMs: the bench's own wall-clock stamps of when a record arrived.
// - Counters of real-time I/O (REAL_TIME_CHANNELS). The serial line runs in real time whatever the
//   node does (idle frames keep it synchronised between steps), so how many frames, bytes and RS
//   codewords crossed it is a measure of wall time; what the node decoded from it (packets, LTP
//   segments and blocks, bundles) is in the other channels and compared. The store's group commit
//   batches the records that come within commitDelayMs of each other, so how many fdatasyncs a
//   step's writes took is a measure of the disk; the records themselves (puts, deletes, bytes,
//   garbage) are compared.
// - The node's count of step requests repeated (exec.lockstep.repeats, .duplicates): the bench
//   resends a request after two seconds of bench time without its report, which a loaded machine
//   can take on a clean line too; the requests run (exec.lockstep.steps) are compared.
// - The node's serial device path in CLA_SERIAL_* events: each run has its own pseudo-terminal.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERIAL_CHANNELS } from '../../flight/cla/dictionary.js';
import type { SerialPacketError } from '../../flight/cla/serial/errors.js';
import { Depacketiser, encodePacket } from '../../flight/cla/serial/packets.js';
import { decodeStep, decodeStepped, encodeStep, encodeStepped, LockstepPacketError } from '../../flight/exec/lockstep.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { REPO, runTern } from '../support/node-process.js';

const SCENARIO = join(REPO, 'hil', 'scenarios', 'lockstep', 'commands-and-safe.json');
const NODE_CONFIG = join(REPO, 'hil', 'bench-node.json');
const REAL_TIME_CHANNELS = [
  'cla.serial.bytesIn', 'cla.serial.bytesOut', 'cla.serial.framesIn', 'cla.serial.framesOut', 'cla.serial.idleFramesOut', 'core.rsCodewords',
  'dtn.store.commits', 'dtn.store.commitRecordsLast', 'exec.lockstep.repeats', 'exec.lockstep.duplicates',
];

interface Line {
  kind: string;
  tMs?: number;
  dtMs?: number;
  channels?: Record<string, number>;
  [field: string]: unknown;
}

/** Where two runs' records differ, field by field (housekeeping channel by channel). */
function differences(a: string[], b: string[]): string[] {
  const out: string[] = a.length === b.length ? [] : [`${a.length} records vs ${b.length}`];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const x = JSON.parse(a[i]!) as Line;
    const y = JSON.parse(b[i]!) as Line;
    const flat = (l: Line): Record<string, unknown> => ({ ...l, channels: undefined, ...Object.fromEntries(Object.entries(l.channels ?? {}).map(([k, v]) => [`channels.${k}`, v])) });
    const fx = flat(x);
    const fy = flat(y);
    for (const key of new Set([...Object.keys(fx), ...Object.keys(fy)])) {
      if (JSON.stringify(fx[key]) !== JSON.stringify(fy[key])) out.push(`[${i}] ${x.kind} ${key}: ${JSON.stringify(fx[key])} vs ${JSON.stringify(fy[key])}`);
    }
  }
  return out;
}

async function telemetryOfRun(): Promise<{ text: string[]; records: Line[] }> {
  const out = mkdtempSync(join(tmpdir(), 'tern-hil-lockstep-'));
  const run = await runTern(['hil', 'run', SCENARIO, '--spawn', NODE_CONFIG, '--lockstep', '--baud', '460800', '--out', out], REPO);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  const device = (JSON.parse(readFileSync(join(out, 'node.json'), 'utf8')) as { cla: { serial: { device: string } } }).cla.serial.device;
  const records = readFileSync(join(out, 'timeline.ndjson'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l.split(device).join('<node line>')) as Line)
    .filter((l) => l.kind === 'housekeeping' || l.kind === 'event' || l.kind === 'response');
  const text = records.map(({ tMs: _t, dtMs: _d, ...rest }) => {
    if (rest.channels) rest.channels = Object.fromEntries(Object.entries(rest.channels).filter(([name]) => !REAL_TIME_CHANNELS.includes(name)));
    return JSON.stringify(rest);
  });
  return { text, records };
}

describe('lockstep packets on the serial line', () => {
  it('are taken where a handler waits for them, and refused, counted, where none does', () => {
    const channels = new TelemetryRegistry().defineAll(SERIAL_CHANNELS);
    const data = new Uint8Array(64).fill(0xe0);
    data.set(encodePacket(encodeStep({ seq: 7, frames: 10 }), 'lockstep'));
    const frame = { vcCount: 0, firstHeader: 0, data };
    const errors: SerialPacketError[] = [];
    new Depacketiser(channels, () => {}, (e) => errors.push(e)).onFrame(frame);
    expect(errors.map((e) => e.code)).toEqual(['SERIAL_BAD_PACKET']);
    expect(channels.packetErrors.value).toBe(1);
    const steps: unknown[] = [];
    new Depacketiser(channels, () => {}, (e) => errors.push(e), (payload) => steps.push(decodeStep(payload))).onFrame(frame);
    expect(steps).toEqual([{ seq: 7, frames: 10 }]);
    expect(errors).toHaveLength(1);
    expect(decodeStepped(encodeStepped({ seq: 7, frames: 20, nowUs: 190_000 }))).toEqual({ seq: 7, frames: 20, nowUs: 190_000 });
    expect(() => decodeStep(encodeStepped({ seq: 7, frames: 20, nowUs: 0 }))).toThrow(LockstepPacketError);
  });
});

describe('tern hil run --lockstep', () => {
  it('refuses a stepClock step against a node not in lockstep, naming the option', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tern-hil-nolockstep-'));
    const scenario = join(out, 'step.json');
    writeFileSync(scenario, JSON.stringify({ name: 'a step in real time', steps: [{ waitContact: true }, { stepClock: 10 }] }));
    const run = await runTern(['hil', 'run', scenario, '--spawn', NODE_CONFIG, '--baud', '460800', '--out', out], REPO);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toContain('at steps[1] (stepClock): stepClock steps a node in lockstep: run with --lockstep');
  }, 120_000);

  it('gives the same telemetry, bit for bit, on two runs of one scenario', async () => {
    const first = await telemetryOfRun();
    const second = await telemetryOfRun();
    // Something to compare: responses, events and housekeeping records all came.
    for (const kind of ['housekeeping', 'event', 'response']) expect(first.records.filter((r) => r.kind === kind).length, kind).toBeGreaterThan(0);
    expect(first.records.some((r) => r.kind === 'event' && r.name === 'EXEC_SAFE_ENTRY')).toBe(true);
    // Stamped on the node's virtual clock: the same in both runs (events' tUs, PING's timeMs).
    expect(differences(first.text, second.text)).toEqual([]);
    // The real-time counters moved (they are left out for a reason, not because they are empty).
    const hk = first.records.filter((r) => r.kind === 'housekeeping').at(-1)!;
    expect(hk.channels!['cla.serial.idleFramesOut']).toBeGreaterThan(0);
  }, 240_000);
});
