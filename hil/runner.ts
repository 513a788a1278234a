// The scenario runner: sets up the line (pseudo-terminal pair, fault proxy, node target), the
// bench's ground node on it, and runs each scenario's steps in order. A step fails with what the
// bench saw; the scenario stops at its first failed step and the next scenario runs.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { argArray, checkArgs, type ArgValues } from '../flight/cmd/args.js';
import { encodeBody, signEnvelope, type Signer } from '../flight/cmd/envelope.js';
import { readDictionary, type Dictionary } from '../flight/cmd/export.js';
import { writeKeyFiles } from '../flight/cmd/keyfile.js';
import { mlDsa, type MlDsa } from '../flight/cmd/mldsa.js';
import { LOCKSTEP_EPOCH_MS } from '../flight/exec/lockstep.js';
import { findCommand, parseArgs as parseCommandWords } from '../gse/command-args.js';
import { BenchLink, COMMAND_SERVICE, ECHO_SERVICE } from './bench-link.js';
import { Seeded, SerialProxy, type ProxyOptions } from './proxy.js';
import type { ScenarioResult } from './report.js';
import { substitute, type ResponseExpectation, type Scenario, type Step } from './scenario.js';
import { HardwareTarget, ptyPair, SpawnedNode, type NodeTarget } from './target.js';
import { Timeline } from './timeline.js';

/** The bench operators: throwaway test keys derived from their names (never flight keys). */
export const BENCH_OPERATORS = [
  { id: 1, name: 'alice', roles: ['operate', 'approve'] },
  { id: 2, name: 'bob', roles: ['operate', 'approve'] },
] as const;
/** Signs forgeries: known to no node. */
const FORGER = { id: 9, name: 'mallory' };

/** The bench's signers by name, from their derived seeds. */
export function benchSigners(dsa: MlDsa): Map<string, Signer> {
  const keys = new Map<string, Signer>();
  for (const op of [...BENCH_OPERATORS, FORGER]) {
    const seed = new Uint8Array(createHash('sha256').update(`tern-hil-bench-test-key:${op.name}`).digest());
    keys.set(op.name, { operator: op.id, seed, publicKey: dsa.publicKey(seed) });
  }
  return keys;
}

/** Writes the bench operators' key files to `dir`; returns their `cmd.operators` entries. */
export function writeBenchPublicKeys(dir: string, keys: Map<string, Signer>): Array<{ id: number; name: string; roles: string[]; publicKeyFile: string }> {
  mkdirSync(dir, { recursive: true });
  return BENCH_OPERATORS.map((op) => {
    const key = keys.get(op.name)!;
    const files = writeKeyFiles(join(dir, `${op.name}.key`), { id: op.id, name: op.name, seed: key.seed, publicKey: key.publicKey });
    return { id: op.id, name: op.name, roles: [...op.roles], publicKeyFile: files.public };
  });
}

export interface RunOptions {
  readonly scenarios: readonly Scenario[];
  readonly out: string;
  readonly baud: number;
  /** A node config to start on a pseudo-terminal pair; else `port` is the node's UART. */
  readonly spawn?: string;
  readonly port?: string;
  /** Hardware: the node's and the bench's node numbers, the dictionary file, the relay command. */
  readonly node?: number;
  readonly bench?: number;
  readonly dictionary?: string;
  readonly powerCycle?: string;
  readonly seed: number;
  /** The node runs frames only when the bench steps them (its executive on a virtual clock). */
  readonly lockstep?: boolean;
  readonly progress?: (line: string) => void;
  /** Aborted (SIGINT, SIGTERM): the running step fails, no further scenario starts, all is closed. */
  readonly signal?: AbortSignal;
}

class StepFailed extends Error {}

type LiveFaults = { -readonly [K in keyof ProxyOptions]: ProxyOptions[K] };

export async function runScenarios(options: RunOptions): Promise<ScenarioResult[]> {
  mkdirSync(options.out, { recursive: true });
  const timeline = new Timeline(join(options.out, 'timeline.ndjson'));
  const dsa = mlDsa('ML-DSA-65');
  const keys = benchSigners(dsa);
  const operators = writeBenchPublicKeys(join(options.out, 'keys'), keys);

  const closers: Array<() => Promise<void>> = [];
  try {
    let target: NodeTarget;
    let ids: { node: number; bench: number };
    let dictionaryFile: string;
    if (options.spawn !== undefined) {
      const spawned = await SpawnedNode.start({ config: options.spawn, out: options.out, baud: options.baud, operators, lockstep: options.lockstep === true, ...(options.signal ? { signal: options.signal } : {}) });
      closers.push(() => spawned.close());
      timeline.record('process', { role: 'node', ...spawned.pids });
      target = spawned;
      ids = spawned.ids;
      dictionaryFile = join(spawned.dataDir, 'dictionary.json');
    } else {
      target = new HardwareTarget(options.port!, options.powerCycle);
      ids = { node: options.node!, bench: options.bench! };
      dictionaryFile = options.dictionary!;
    }
    const benchPty = await ptyPair();
    closers.push(() => benchPty.close());
    timeline.record('process', { role: 'bench line', socat: benchPty.pid });
    const faults: LiveFaults = { a: benchPty.b, b: target.line, baud: options.baud, seed: options.seed, ber: 0, drop: 0, delayMs: 0 };
    // The proxy reads its faults object for every chunk: a linkFault step changes this one.
    const proxy = new SerialProxy(faults);
    await proxy.start();
    closers.push(() => proxy.close());
    // In lockstep the bench stamps its bundles with the node's clock (epoch + virtual time), so they
    // are as old to the node on every run.
    const nodeClock = { nowUs: 0 };
    const link = new BenchLink({
      device: benchPty.a, baud: options.baud, bench: ids.bench, node: ids.node, timeline,
      ...(options.lockstep ? { nowMs: () => LOCKSTEP_EPOCH_MS + Math.floor(nodeClock.nowUs / 1000) } : {}),
    });
    await link.start();
    closers.push(() => link.close());
    const bench: Bench = { link, target, faults, proxy, signal: options.signal, timeline, dsa, keys, ids, dictionary: readDictionary(dictionaryFile), saved: new Map(),
      // In lockstep every number the node sees comes from the scenario, so two runs send the same bytes.
      lockstep: options.lockstep === true, nodeClock, seq: options.lockstep ? 1 : Date.now(), deadlineMs: 0, mark: 0 };

    const results: ScenarioResult[] = [];
    for (const scenario of options.scenarios) {
      if (options.signal?.aborted) break;
      timeline.scenario = scenario.name;
      results.push(await runOne(bench, scenario, options.progress ?? (() => {}), options.signal));
    }
    return results;
  } finally {
    // Every closer runs even when one fails: a proxy that failed to close must not leave the node and socat running.
    const failures: unknown[] = [];
    for (const close of closers.reverse()) await close().catch((error: unknown) => failures.push(error));
    await timeline.close();
    if (failures.length > 0) throw failures[0];
  }
}

interface Bench {
  readonly link: BenchLink;
  readonly target: NodeTarget;
  readonly faults: LiveFaults;
  readonly proxy: SerialProxy;
  readonly signal: AbortSignal | undefined;
  readonly timeline: Timeline;
  readonly dsa: MlDsa;
  readonly keys: Map<string, Signer>;
  readonly ids: { node: number; bench: number };
  readonly dictionary: Dictionary;
  /** Envelopes kept by `save`, for `replay`. */
  readonly saved: Map<string, Signed>;
  readonly lockstep: boolean;
  /** In lockstep, the node's virtual time at its last step report. */
  readonly nodeClock: { nowUs: number };
  /** Sequence numbers: from the wall clock, so they rise across runs against one node (from 1 in lockstep). */
  seq: number;
  /** The running step's deadline. */
  deadlineMs: number;
  /** Downlink items before this index came before the last action (command, fault, power cycle): expectations look from here. */
  mark: number;
  /** When the last powerCycle step began. */
  powerCycledAtMs?: number;
}

async function runOne(bench: Bench, scenario: Scenario, progress: (line: string) => void, signal: AbortSignal | undefined): Promise<ScenarioResult> {
  const started = Date.now();
  let count = 0;
  const flat = (steps: Step[], vars: Record<string, unknown>): Array<{ step: Step; vars: Record<string, unknown> }> =>
    steps.flatMap((step) => step.kind === 'repeat'
      ? Array.from({ length: step.times }, (_, i) => flat(step.steps, { ...vars, i })).flat()
      : [{ step, vars }]);
  const all = flat(scenario.steps, scenario.vars);
  bench.mark = bench.link.items.length;
  // Every scenario starts on a clean line.
  Object.assign(bench.faults, { ber: 0, drop: 0, delayMs: 0, burst: undefined });
  for (const { step, vars } of all) {
    count++;
    progress(`[${scenario.name}] ${count}/${all.length} ${step.path} ${step.name}`);
    bench.timeline.record('step', { path: step.path, name: step.name });
    bench.deadlineMs = Date.now() + step.timeoutS * 1000;
    try {
      // A second past the deadline: waits that end at it say what they saw first.
      await withTimeout(runStep(bench, step, vars), step.timeoutS * 1000 + 1000, step, signal);
      bench.timeline.record('step-passed', { path: step.path });
      bench.timeline.record('link', { bench: nonZero(bench.link.counters()), proxy: bench.proxy.stats() });
    } catch (error) {
      const down = bench.target.down();
      const message = `${(error as Error).message}${down ? ` (${down})` : ''}`;
      bench.timeline.record('step-failed', { path: step.path, message });
      return { name: scenario.name, file: scenario.file, seconds: (Date.now() - started) / 1000, steps: count, failure: { step: `${step.path} (${step.name})`, message } };
    }
  }
  return { name: scenario.name, file: scenario.file, seconds: (Date.now() - started) / 1000, steps: count };
}

async function withTimeout<T>(work: Promise<T>, ms: number, step: Step, signal: AbortSignal | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepFailed(`no result within the step's ${step.timeoutS} s`)), ms);
    onAbort = () => reject(new StepFailed('interrupted'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort!);
  }
}

/** Frames a wait for the node's output steps a node in lockstep by between looks. */
const LOCKSTEP_WAIT_FRAMES = 10;

/**
 * Polls `probe` until it gives a value; at the step's deadline fails saying what was `seen`.
 * A wait for the node's `output` steps a node in lockstep between looks: its report comes once
 * what the frames sent has arrived, so the look after each step sees the same as in any other run.
 */
async function waitFor<T>(bench: Bench, probe: () => T | undefined, seen: () => string, output = false): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (bench.signal?.aborted) throw new StepFailed('interrupted');
    if (Date.now() > bench.deadlineMs) throw new StepFailed(`not within the step's timeout; ${seen()}`);
    if (bench.lockstep && output) await stepClock(bench, LOCKSTEP_WAIT_FRAMES);
    else await new Promise((r) => setTimeout(r, 20));
  }
}

async function stepClock(bench: Bench, frames: number): Promise<void> {
  bench.nodeClock.nowUs = (await bench.link.step(frames)).nowUs;
}

async function runStep(bench: Bench, step: Step, vars: Record<string, unknown>): Promise<void> {
  const since = bench.link.items.length;
  if (step.kind !== 'expectEvent' && step.kind !== 'expectTelemetry' && step.kind !== 'waitContact') bench.mark = since;
  switch (step.kind) {
    case 'send': {
      const command = step.replay !== undefined ? saved(bench, step.replay) : makeEnvelope(bench, step.command, substitute(step.args, vars), step.as, step.approvers, step.tamper);
      if (step.save !== undefined) bench.saved.set(step.save, command);
      await sendCommand(bench, command, step.command);
      if (step.expect) await expectResponse(bench, since, step.command, command.seq, substitute(step.expect, vars) as ResponseExpectation);
      return;
    }
    case 'bitFlip': {
      const command = makeEnvelope(bench, 'ECC_INJECT', substitute(step.args, vars), BENCH_OPERATORS[0].name, BENCH_OPERATORS.slice(1).map((o) => o.name), 'none');
      await sendCommand(bench, command, 'ECC_INJECT');
      await expectResponse(bench, since, 'ECC_INJECT', command.seq, step.expect ?? { status: 'executed' });
      return;
    }
    case 'expectEvent': {
      const want = substitute(step.args, vars) as Record<string, unknown>;
      await waitFor(bench, () => bench.link.items.slice(bench.mark).find((i) => i.kind === 'evt' && i.record.name === step.event && subset(want, i.record.args)),
        () => `events since the last action: ${JSON.stringify(bench.link.items.slice(bench.mark).flatMap((i) => (i.kind === 'evt' ? [`${i.record.name} ${JSON.stringify(i.record.args)}`] : [])))}`, true);
      return;
    }
    case 'expectTelemetry': {
      // The first housekeeping record from now on whose value is within the limits.
      let next = bench.mark;
      const values: number[] = [];
      await waitFor(bench, () => {
        for (; next < bench.link.items.length; next++) {
          const item = bench.link.items[next]!;
          if (item.kind !== 'hk') continue;
          const value = (item.record as { channels: Record<string, number> }).channels[step.channel];
          if (value === undefined) throw new StepFailed(`no channel ${step.channel} in the node's housekeeping`);
          values.push(value);
          bench.timeline.record('telemetry', { channel: step.channel, value });
          if (value >= step.min && value <= step.max) return true;
        }
        return undefined;
      }, () => `${step.channel} in housekeeping: ${values.length === 0 ? 'no record arrived' : values.join(', ')}; expected ${step.min}..${step.max}`, true);
      return;
    }
    case 'linkFault':
      Object.assign(bench.faults, { ber: step.ber, drop: step.drop, delayMs: step.delayMs, burst: step.burst });
      bench.timeline.record('fault', { ber: step.ber, drop: step.drop, delayMs: step.delayMs, burst: step.burst ?? null });
      return;
    case 'powerCycle':
      bench.timeline.record('power-cycle', {});
      bench.powerCycledAtMs = Date.now();
      await bench.target.powerCycle();
      if (bench.target instanceof SpawnedNode) bench.timeline.record('process', { role: 'node', ...bench.target.pids });
      return;
    case 'waitContact':
      await waitFor(bench, () => (bench.link.inContact === step.up ? true : undefined), () => `contact still ${step.up ? 'down' : 'up'}`);
      return;
    case 'echo': {
      // Seeded payloads to the node's echo service; every one must come back, whole, once.
      const random = new Seeded(bench.seq % 2 ** 32);
      const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
      const sent = new Set<string>();
      const from = bench.link.bundles.length;
      for (let n = 0; n < step.count; n++) {
        const payload = Uint8Array.from({ length: step.bytes }, () => Math.floor(random.next() * 256));
        sent.add(digest(payload));
        await waitFor(bench, () => (bench.link.inContact ? true : undefined), () => `no contact to send echo ${n + 1} of ${step.count}`);
        await bench.link.send(ECHO_SERVICE, payload);
      }
      const back = (): string[] => bench.link.bundles.slice(from).filter((b) => b.destination === `ipn:${bench.ids.bench}.${ECHO_SERVICE}`).map((b) => digest(b.payload));
      await waitFor(bench, () => (back().filter((d) => sent.has(d)).length >= step.count ? true : undefined), () => `${back().length} of ${step.count} echoes back`, true);
      const got = back();
      if (new Set(got).size !== got.length || got.some((d) => !sent.has(d))) throw new StepFailed(`echoes: ${got.length} back for ${step.count} sent, ${new Set(got).size} distinct, ${got.filter((d) => !sent.has(d)).length} not sent`);
      return;
    }
    case 'expectBundle': {
      const destination = step.destination === undefined ? undefined : String(substitute(step.destination, vars));
      const cycle = bench.powerCycledAtMs;
      if (step.createdBeforePowerCycle && cycle === undefined) throw new StepFailed('createdBeforePowerCycle: no powerCycle step came before');
      await waitFor(bench, () => bench.link.bundles.find((b) => b.atMs >= (cycle ?? 0) && (destination === undefined || b.destination === destination) && (!step.createdBeforePowerCycle || (b.creationMs > 0 && b.creationMs < cycle!))),
        () => `bundles since the power cycle: ${JSON.stringify(bench.link.bundles.filter((b) => b.atMs >= (cycle ?? 0)).map((b) => ({ destination: b.destination, creationMs: b.creationMs })))}`, true);
      return;
    }
    case 'checkStore': {
      // LIST_BUNDLES through the command path, a page of 64 at a time.
      const listed: Array<{ destination: string }> = [];
      for (let total = 1; listed.length < total;) {
        const since = bench.link.items.length;
        const command = makeEnvelope(bench, 'LIST_BUNDLES', { offset: listed.length, limit: 64 }, BENCH_OPERATORS[0].name, [], 'none');
        await sendCommand(bench, command, 'LIST_BUNDLES');
        const page = (await expectResponse(bench, since, 'LIST_BUNDLES', command.seq, { status: 'executed' })).result as { total: number; bundles: Array<{ destination: string }> };
        total = page.total;
        listed.push(...page.bundles);
        if (page.bundles.length === 0) break;
      }
      const destination = step.destination === undefined ? undefined : String(substitute(step.destination, vars));
      const matching = destination === undefined ? listed : listed.filter((b) => b.destination === destination);
      if (matching.length < step.min || matching.length > step.max) {
        throw new StepFailed(`the store holds ${matching.length} bundles${destination ? ` for ${destination}` : ''}, expected ${step.min}..${step.max}: ${JSON.stringify(listed)}`);
      }
      return;
    }
    case 'stepClock':
      if (!bench.lockstep) throw new StepFailed('stepClock steps a node in lockstep: run with --lockstep');
      await stepClock(bench, step.frames);
      return;
    case 'dropLockstep':
      if (!bench.lockstep) throw new StepFailed('dropLockstep loses step packets of a node in lockstep: run with --lockstep');
      bench.link.loseSteps(step.requests, step.reports);
      bench.timeline.record('fault', { dropLockstep: { requests: step.requests, reports: step.reports } });
      return;
    case 'hold': {
      if (bench.lockstep) throw new StepFailed('hold waits bench time; a node in lockstep runs only when stepped: use stepClock');
      const endMs = Date.now() + step.seconds * 1000;
      await waitFor(bench, () => (Date.now() >= endMs ? true : undefined), () => 'holding');
      return;
    }
    case 'repeat':
      throw new Error('repeat steps are expanded before they run');
  }
}

interface Signed {
  readonly envelope: Uint8Array;
  readonly seq: number;
}

function saved(bench: Bench, name: string): Signed {
  const envelope = bench.saved.get(name);
  if (!envelope) throw new StepFailed(`no command saved as ${JSON.stringify(name)} (a send step with "save" must come first)`);
  return envelope;
}

function makeEnvelope(bench: Bench, commandName: string, rawArgs: unknown, as: string, approvers: readonly string[], tamper: 'none' | 'signature'): Signed {
  const command = findCommand(bench.dictionary, commandName);
  if (!command) throw new StepFailed(`${commandName} is not in the node's dictionary ${bench.dictionary.hash}`);
  let args: ArgValues;
  try {
    args = Array.isArray(rawArgs)
      ? parseCommandWords(command, rawArgs.map(String), bench.dictionary)
      : checkArgs(command.name, command.args, command.args.map((spec) => (rawArgs as Record<string, unknown>)[spec.name]));
  } catch (error) {
    throw new StepFailed(`arguments of ${command.name}: ${(error as Error).message}`);
  }
  const signers = [as, ...approvers].map((name) => {
    const key = bench.keys.get(name);
    if (!key) throw new StepFailed(`no bench operator ${JSON.stringify(name)} (the bench signs as ${[...bench.keys.keys()].join(', ')})`);
    return key;
  });
  const seq = bench.seq++;
  const body = encodeBody({ target: bench.ids.node, operator: signers[0]!.operator, seq, expiryMs: (bench.lockstep ? LOCKSTEP_EPOCH_MS + Math.floor(bench.nodeClock.nowUs / 1000) : Date.now()) + 600_000, opcode: command.opcode, args: argArray(command.args, args) });
  const envelope = signEnvelope(bench.dsa, body, bench.ids.node, signers);
  // A forged command: one bit of the last signature's last byte flipped.
  if (tamper === 'signature') envelope[envelope.length - 1]! ^= 0x01;
  return { envelope, seq };
}

async function sendCommand(bench: Bench, { envelope, seq }: Signed, command: string): Promise<void> {
  await waitFor(bench, () => (bench.link.inContact ? true : undefined), () => `no contact to send ${command}`);
  bench.timeline.record('command', { command, seq, envelope: createHash('sha256').update(envelope).digest('hex').slice(0, 16), bytes: envelope.length });
  await bench.link.send(COMMAND_SERVICE, envelope);
}

type Response = Record<string, unknown> & { status: string; command?: string; reason?: string; result?: unknown; seq?: number };

/** Waits for the response to the command numbered `seq`; fails on a final one that differs. */
async function expectResponse(bench: Bench, since: number, command: string, seq: number, want: ResponseExpectation): Promise<Response> {
  return waitFor(bench, () => {
    for (const item of bench.link.items.slice(since)) {
      if (item.kind !== 'rsp') continue;
      const r = item.record as unknown as Response;
      if (r.seq !== seq) continue;
      // accepted and pending come before the final status: wait on for it unless asked for them.
      if ((r.status === 'accepted' || r.status === 'pending') && want.status !== r.status) continue;
      if (want.status !== undefined && r.status !== want.status) throw new StepFailed(`${command}: status ${r.status}${r.reason ? ` ${r.reason}` : ''}${r.detail ? ` (${String(r.detail)})` : ''}, expected ${want.status}`);
      if (want.reason !== undefined && r.reason !== want.reason) throw new StepFailed(`${command}: reason ${String(r.reason)}, expected ${want.reason}`);
      if (want.result !== undefined && !subset(want.result, r.result)) throw new StepFailed(`${command}: result ${JSON.stringify(r.result)}, expected ${JSON.stringify(want.result)}`);
      return r;
    }
    return undefined;
  }, () => `responses seen: ${JSON.stringify(bench.link.items.slice(since).flatMap((i) => (i.kind === 'rsp' ? [`${String(i.record.command)} ${i.record.status}`] : [])))}`, true);
}

/** Whether `actual` holds everything in `want` (objects matched field by field, the rest exactly). */
function subset(want: unknown, actual: unknown): boolean {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    if (actual === null || typeof actual !== 'object') return false;
    return Object.entries(want).every(([k, v]) => subset(v, (actual as Record<string, unknown>)[k]));
  }
  return isDeepStrictEqual(want, actual);
}

/** The bench link's counters that moved: code blocks, corrections, LTP segments. */
function nonZero(counters: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== 0));
}
