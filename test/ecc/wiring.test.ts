// What a node keeps in protected memory, through its owners' own code paths: the executive's
// mode, frame counter and slot lists; parameters, operator keys and replay window heads of
// commanding; BPSec session keys. Upsets are flipped straight into the stored bits (the
// injector's targets) and must not change what the owners do.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setModeBinding } from '../../flight/cmd/builtins.js';
import { Commanding } from '../../flight/cmd/commanding.js';
import type { CmdConfig } from '../../flight/cmd/config.js';
import type { CommandResponse } from '../../flight/cmd/dispatcher.js';
import { InThreadCrypto } from '../../flight/cmd/handshake-crypto.js';
import { SessionKeys } from '../../flight/cmd/session.js';
import { Fields } from '../../flight/config/fields.js';
import { Core } from '../../flight/core/wasm.js';
import { decryptBundle, encryptBundle } from '../../flight/dtn/bpsec.js';
import { payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import type { ProtectedRegion } from '../../flight/ecc/region.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import type { FrameInfo, Task } from '../../flight/exec/task.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { dsa, envelope, NODE, spec, T0_MS, testOperator } from '../cmd/support/harness.js';

const MS = 1000;
const silent = createRootLogger({ level: 'silent' });
const CORE = new Core();

/** A node's protected memory over the shared core, with the events and go-SAFE signals it raised. */
function protection(budgetBytes = 4096, storeDir?: string) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(silent, () => 0);
  const seen: EventRecord[] = [];
  events.onEvent((e) => seen.push(e));
  const dir = mkdtempSync(join(tmpdir(), 'tern-ecc-wiring-'));
  const p = new NodeProtection({ core: CORE, tlm, events, dir, config: { scrub: { budgetBytes, budgetUs: 1000 }, store: ECC_DEFAULTS.store }, ...(storeDir ? { storeDir } : {}) });
  const safe: Array<{ what: string; reason: string }> = [];
  p.memory.onGoSafe((what, reason) => safe.push({ what, reason }));
  const h = { tlm, events, safe, dir, named: (name: string) => seen.filter((e) => e.name === name) };
  return { h, p };
}

/** Flips one bit in each of `words` codewords of `region`, cycling over data and check bits. */
function flipEach(region: ProtectedRegion, words: number): void {
  for (let i = 0; i < words; i++) region.flip(Math.floor((i * region.codewords) / words), (i * 37) % 72);
}

// ---- executive ----------------------------------------------------------------------------------

/** Tasks that log each run as `mode/minor/name`: the trace two executives must agree on. */
function tracingTasks(trace: string[]): Task[] {
  return ['a', 'b', 'c', 'd', 'ecc.scrub'].map((name) => ({
    name, criticality: 'normal', budgetUs: 100,
    run: (f: FrameInfo) => void trace.push(`${f.mode}/${f.minor}/${name}`),
  }));
}

const EXEC = {
  initialMode: 'NOMINAL',
  modes: {
    BOOT: { minorFrameMs: 10, slots: [['a', 'ecc.scrub']] },
    NOMINAL: { minorFrameMs: 10, slots: [['a', 'b', 'c'], ['d'], [], ['b', 'a', 'ecc.scrub']] },
    SAFE: { minorFrameMs: 20, slots: [['d', 'ecc.scrub'], ['a']] },
  },
};

function executive(protect: boolean) {
  const trace: string[] = [];
  const clock = new VirtualClock();
  const tlm = new TelemetryRegistry();
  const schedule = parseSchedule(new Fields('test.json'), EXEC, 'exec', tracingTasks(trace));
  const { h, p } = protection();
  const exec = new Executive({ schedule, clock, tlm, events: h.events, ...(protect ? { state: p.execState(schedule) } : {}) }, 0);
  p.attach(exec, schedule);
  return { trace, clock, exec, h, p, schedule: p.find('schedule'), bank: p.memory.banks.find((b) => b.name === 'exec')! };
}

describe('executive state in protected memory', () => {
  it('runs the same frames as plain memory while its slot lists take single- and double-bit upsets', () => {
    const plain = executive(false);
    const prot = executive(true);
    const table = prot.schedule!;
    expect(table.critical).toBe(true);
    runVirtual(plain.exec, plain.clock, 1000 * MS);
    runVirtual(prot.exec, prot.clock, 200 * MS);
    flipEach(table, table.codewords);
    runVirtual(prot.exec, prot.clock, 600 * MS);
    // Two bits of one word: uncorrectable, so the table is reloaded from its golden copy.
    table.flip(0, 3);
    table.flip(0, 40);
    runVirtual(prot.exec, prot.clock, 1000 * MS);
    expect(prot.trace).toEqual(plain.trace);
    // Every flipped word was corrected by the frame that read it (scrubbing ran no region here).
    expect(table.counts.corrected).toBe(table.codewords);
    expect(table.counts.reloads).toBe(1);
    expect(prot.h.named('ECC_REGION_RELOADED')).toHaveLength(1);
  });

  it('outvotes one damaged copy of the mode or the frame counter; three different copies of the mode give SAFE', () => {
    const plain = executive(false);
    const prot = executive(true);
    runVirtual(plain.exec, plain.clock, 300 * MS);
    runVirtual(prot.exec, prot.clock, 100 * MS);
    prot.bank.flip(0, 70); // mode, copy 1
    prot.bank.flip(1, 5); // frame counter, copy 0
    runVirtual(prot.exec, prot.clock, 300 * MS);
    expect(prot.trace).toEqual(plain.trace);
    expect(prot.bank.counts.corrected).toBe(2);

    prot.bank.flip(0, 1);
    prot.bank.flip(0, 64 + 2);
    prot.bank.flip(0, 128 + 3);
    runVirtual(prot.exec, prot.clock, 400 * MS);
    expect(prot.exec.modeName).toBe('SAFE');
    expect(prot.bank.counts.noMajority).toBe(1);
    expect(prot.h.safe).toEqual([{ what: 'tmr.exec.mode', reason: 'no majority' }]);
    // SAFE frames ran from 300 ms on at SAFE's period, 40 ms a major frame (the frame counter
    // restarted with the mode; counted in NOMINAL's frames it would put the next one at 600 ms).
    expect(prot.trace.filter((t) => t.startsWith('SAFE/0/d'))).toHaveLength(3);
    expect(prot.h.named('EXEC_MODE_CHANGED').map((e) => e.args)).toMatchObject([{ to: 'SAFE', reason: 'protected tmr.exec.mode lost: no majority' }]);
    expect(prot.trace.at(-1)).toMatch(/^SAFE\//);
  });
});

// ---- commanding -----------------------------------------------------------------------------------

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['operate', 'approve']);

function commanding(dataDir = mkdtempSync(join(tmpdir(), 'tern-ecc-cmd-'))) {
  const { h, p } = protection();
  const clock = new VirtualClock(1_000_000);
  const events = h.events;
  const config: CmdConfig = {
    approvals: 1,
    operators: [A, B].map(spec),
    backend: 'noble',
    dispatch: { budgetUs: 20_000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 8, executionsPerSlot: 4, pendingApprovals: 4 },
    sequence: { budgetUs: 5000, stepsPerSlot: 4 },
  };
  const cmd = new Commanding({ node: NODE, dataDir, config, tlm: h.tlm, events, log: silent, clock, wallMs: () => T0_MS, protection: p });
  cmd.bind('SET_MODE', setModeBinding({ modeName: 'NOMINAL', requestMode: () => undefined }));
  cmd.bind('LIST_BUNDLES', { handler: () => ({}) });
  const tasks = cmd.tasks();
  const responses: CommandResponse[] = [];
  cmd.onResponse((r) => responses.push(r));
  const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
  const send = (bytes: Uint8Array): string => {
    const before = responses.length;
    cmd.submit(bytes);
    for (const task of tasks) task.run(frame);
    return responses.slice(before).map((r) => (r.reason ? `${r.status}:${r.reason}` : r.status)).join(',');
  };
  const region = (name: string) => p.find(name)!;
  return { h, p, cmd, send, region, dataDir, bank: p.memory.banks.find((b) => b.name === 'cmd-replay')! };
}

describe('commanding state in protected memory', () => {
  it('verifies signatures with the operator keys read through their region, correcting upsets in them', () => {
    const c = commanding();
    const keys = c.region('operator-keys');
    expect(keys.critical).toBe(true);
    // A's key is slot 0: 1952 bytes = 244 words, each with a flipped bit.
    for (let w = 0; w < 244; w++) keys.flip(w, (w * 7) % 72);
    expect(c.send(envelope({ command: 'NOOP', seq: 1, signers: [A] }))).toBe('accepted,executed');
    expect(keys.counts.corrected).toBe(244);
    // A rotated key is written and committed: a reload after a double-bit upset brings the new one back.
    const A2 = testOperator(1, ['operate', 'approve'], 'operator 1 rotated');
    expect(c.send(envelope({ command: 'OPERATOR_ROTATE', args: [1, A2.publicKey], seq: 2, signers: [A] }))).toBe('accepted,executed');
    keys.flip(3, 1);
    keys.flip(3, 2);
    expect(c.send(envelope({ command: 'NOOP', seq: 3, signers: [A2] }))).toBe('accepted,executed');
    expect(keys.counts.reloads).toBe(1);
    expect(c.send(envelope({ command: 'NOOP', seq: 4, signers: [A] }))).toBe('rejected:CMD_REVOKED_KEY');
  });

  it('reads parameters through their region, and a set value survives a reload from the golden copy', () => {
    const c = commanding();
    const params = c.region('parameters');
    expect(params.critical).toBe(false);
    const before = c.cmd.params.all().map((d) => c.cmd.params.get(d.name));
    flipEach(params, params.codewords);
    expect(c.cmd.params.all().map((d) => c.cmd.params.get(d.name))).toEqual(before);
    expect(params.counts.corrected).toBe(params.codewords);
    c.cmd.params.set('cmd.verifyBurst', 7);
    params.flip(0, 0);
    params.flip(0, 1);
    params.flip(1, 0);
    params.flip(1, 9);
    expect(c.cmd.params.get('cmd.verifyBurst')).toBe(7);
    expect(params.counts.reloads).toBeGreaterThanOrEqual(1);
    expect(c.h.named('ECC_REGION_RELOADED').at(-1)!.args).toMatchObject({ region: 'parameters', uncommittedWritesLost: false });
  });

  it('keeps replay window heads in TMR: one damaged copy is outvoted, three different refuse the operator and go SAFE', () => {
    const c = commanding();
    expect(c.send(envelope({ command: 'NOOP', seq: 5, signers: [A] }))).toBe('accepted,executed');
    expect(c.send(envelope({ command: 'NOOP', seq: 1, signers: [B] }))).toBe('accepted,executed');
    // Flip the head of A (cell 0) to 5 ^ 2^52 in one copy: the vote still says 5, so seq 5 is a replay.
    c.bank.flip(0, 52);
    expect(c.send(envelope({ command: 'NOOP', seq: 5, signers: [A] }))).toBe('rejected:CMD_REPLAY');
    expect(c.bank.counts.corrected).toBe(1);
    expect(c.send(envelope({ command: 'NOOP', seq: 6, signers: [A] }))).toBe('accepted,executed');
    c.bank.flip(0, 1);
    c.bank.flip(0, 64 + 2);
    c.bank.flip(0, 128 + 3);
    expect(c.send(envelope({ command: 'NOOP', seq: 7, signers: [A] }))).toBe('rejected:CMD_REPLAY');
    expect(c.h.safe).toEqual([{ what: 'tmr.cmd-replay.op1', reason: 'no majority' }]);
    // Operator B's window is its own scalar, untouched.
    expect(c.send(envelope({ command: 'NOOP', seq: 2, signers: [B] }))).toBe('accepted,executed');
  });
});

// ---- BPSec session keys ---------------------------------------------------------------------------

const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());
const SEEDS = { 1: seed('ecc node 1'), 2: seed('ecc node 2') };
const PEERS = new Map([1, 2].map((n) => [n, { publicKey: dsa.publicKey(SEEDS[n as 1 | 2]), gatewayFor: new Set<number>() }]));

function sessionEndpoint(node: 1 | 2) {
  const { h, p } = protection();
  const def = (name: string) => h.tlm.define({ name: `s.${name}`, type: 'u64', units: '', doc: '' });
  const outbox: Uint8Array[] = [];
  const keys = new SessionKeys({
    node, crypto: new InThreadCrypto(dsa, SEEDS[node]), peers: PEERS, gatewayFor: new Set(), dataDir: h.dir, wallMs: () => T0_MS,
    rekeyMs: 3_600_000, rekeyBlocks: 100, offerMaxAgeMs: 600_000, offerRetryMs: 60_000, handshakesPerMinute: 600,
    send: async (_peer, wire) => void outbox.push(wire),
    events: new EventLog(silent, () => 0),
    channels: { rekeys: def('rekeys'), rekeyRequests: def('rekeyRequests'), offers: def('offers'), rejected: def('rejected'), rateLimited: def('rateLimited') },
    onError: (error) => { throw error; },
  });
  keys.protect(p.region);
  return { keys, outbox, region: p.find('session-keys')! };
}

async function until(outbox: Uint8Array[]): Promise<Uint8Array> {
  for (let i = 0; i < 1000 && outbox.length === 0; i++) await new Promise((r) => setImmediate(r));
  return outbox.pop()!;
}

describe('BPSec session keys in protected memory', () => {
  it('seals and opens with keys read through the region, correcting upsets in them', async () => {
    const a = sessionEndpoint(1);
    const b = sessionEndpoint(2);
    a.keys.sealFor(2);
    await b.keys.receive(await until(a.outbox));
    await a.keys.receive(await until(b.outbox));
    const session = a.keys.sealFor(2)!;
    // Every word of both regions takes a single-bit upset (a's sealing key, b's opening key among them).
    flipEach(a.region, a.region.codewords);
    flipEach(b.region, b.region.codewords);
    const bundle = createBundle({ source: ipn(1, 7), destination: ipn(2, 7), creationTime: 1, sequence: 0, lifetime: 60_000, payload: new TextEncoder().encode('under upsets') });
    const sealed = encryptBundle(bundle, { key: session.key, source: ipn(1, 0), targets: [1], nextIv: () => session.nextIv() });
    const opened = decryptBundle(sealed, b.keys.openingKeys());
    expect(new TextDecoder().decode(payloadBlock(opened.bundle).data)).toBe('under upsets');
    expect(a.region.counts.corrected).toBe(a.region.codewords);
    expect(b.region.counts.corrected).toBe(b.region.codewords);
  });
});

// ---- ECC_INJECT's handler ---------------------------------------------------------------------------

describe('injection by command (the handler)', () => {
  it('flips single bits of a store file durably and refuses what is not one of its targets', () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'tern-ecc-store-'));
    const file = join(storeDir, '0000000001.seg');
    const original = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
    writeFileSync(file, original);
    const { h, p } = protection(4096, storeDir);
    const result = p.inject({ target: 'store/0000000001.seg', pattern: 'single', count: 3, seed: 9 });
    const after = new Uint8Array(readFileSync(file));
    let flipped = 0;
    for (let i = 0; i < after.length; i++) for (let x = after[i]! ^ original[i]!; x; x &= x - 1) flipped++;
    expect('offsets' in result && result.offsets).toHaveLength(3);
    expect(flipped % 2).toBe(1); // three single flips: an odd number of bits differ (two may cancel)
    expect(h.named('ECC_INJECTED')).toHaveLength(1);

    const refused = (target: string, pattern = 'single') => {
      try {
        p.inject({ target, pattern, count: 1, seed: 1 });
      } catch (error) {
        return `${(error as { code: string }).code}: ${(error as Error).message}`;
      }
      return 'injected';
    };
    expect(refused('store/..')).toMatch(/^SEU_BAD_INPUT: target: expected an existing, non-empty file of the bundle store/);
    expect(refused('store/0000000002.seg')).toMatch(/^SEU_BAD_INPUT: target/);
    expect(refused('store/0000000001.seg', 'burst')).toMatch(/^SEU_BAD_INPUT: pattern: expected single for a store file/);
    expect(refused('nowhere')).toMatch(/^SEU_BAD_INPUT: target: expected one of .*or store\/<file>/);
    expect(refused('tmr.nowhere')).toMatch(/^SEU_BAD_INPUT: target/);
    expect(h.named('ECC_INJECTED')).toHaveLength(1);
    expect(readFileSync(file)).toEqual(Buffer.from(after));
  });
});
