// Commanding of one node in a temporary data directory, with deterministic operator keys, a
// virtual monotonic clock and a settable wall clock; envelopes are built and signed for real.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../../flight/exec/clock.js';
import type { FrameInfo } from '../../../flight/exec/task.js';
import { createRootLogger } from '../../../flight/log.js';
import { TelemetryRegistry } from '../../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../../flight/tlm/events.js';
import { setModeBinding } from '../../../flight/cmd/builtins.js';
import { Commanding } from '../../../flight/cmd/commanding.js';
import type { CmdConfig } from '../../../flight/cmd/config.js';
import { CMD_COMMANDS } from '../../../flight/cmd/dictionary.js';
import type { CommandResponse } from '../../../flight/cmd/dispatcher.js';
import { encodeBody, signEnvelope, type Signer } from '../../../flight/cmd/envelope.js';
import { NobleMlDsa } from '../../../flight/cmd/mldsa.js';
import type { OperatorSpec, Role } from '../../../flight/cmd/operators.js';
import type { StoredFile } from '../../../flight/cmd/uplink.js';
import { until } from '../../support/wait.js';

export const NODE = 7;
export const T0_MS = Date.UTC(2030, 0, 1);
export const dsa = new NobleMlDsa('ML-DSA-65');

export interface TestOperator extends Signer {
  readonly name: string;
  readonly roles: readonly Role[];
}

const keyCache = new Map<string, Uint8Array>();

/** A throwaway operator key derived from a label (never a real key). */
export function testOperator(id: number, roles: readonly Role[] = ['operate', 'approve'], label = `operator ${id}`): TestOperator {
  const seed = new Uint8Array(createHash('sha256').update(`tern test key: ${label}`).digest());
  let publicKey = keyCache.get(label);
  if (!publicKey) keyCache.set(label, (publicKey = dsa.publicKey(seed)));
  return { operator: id, name: `op${id}`, roles, seed, publicKey };
}

export function spec(o: TestOperator): OperatorSpec {
  return { id: o.operator, name: o.name, roles: o.roles, publicKey: o.publicKey };
}

export const OPCODES: Record<string, number> = Object.fromEntries(Object.values(CMD_COMMANDS).map((c) => [c.name, c.opcode]));

export interface EnvelopeOptions {
  command: string | number;
  args?: unknown[];
  /** Originator; defaults to the first signer. */
  operator?: number;
  seq: number;
  signers: readonly Signer[];
  target?: number;
  expiryMs?: number;
  /** Sign for this target instead (a signature made for another spacecraft). */
  signTarget?: number;
}

export function envelope(o: EnvelopeOptions, nowMs = T0_MS): Uint8Array {
  const target = o.target ?? NODE;
  const opcode = typeof o.command === 'number' ? o.command : OPCODES[o.command]!;
  const body = encodeBody({
    target,
    operator: o.operator ?? o.signers[0]!.operator,
    seq: o.seq,
    expiryMs: o.expiryMs ?? nowMs + 600_000,
    opcode,
    args: o.args ?? [],
  });
  return signEnvelope(dsa, body, o.signTarget ?? target, o.signers);
}

export interface Harness {
  dataDir: string;
  commanding: Commanding;
  tlm: TelemetryRegistry;
  responses: CommandResponse[];
  events: EventRecord[];
  clock: VirtualClock;
  wall: { ms: number };
  mode: { modeName: string; requestMode(mode: string): void };
  /** Runs the dispatcher and sequencer `slots` times, advancing the clocks `stepMs` each. */
  run(slots?: number, stepMs?: number): void;
  value(channel: string): number;
  /** Submits and runs one slot; returns the responses that came out. */
  send(bytes: Uint8Array): CommandResponse[];
  /** Hands a signed file to the file service as the bundle agent does, running the dispatcher's
   *  slots until it is stored (resolves) or refused (rejects). */
  deliverFile(bytes: Uint8Array): Promise<StoredFile>;
}

export interface HarnessOptions {
  operators: readonly TestOperator[];
  approvals?: number;
  dataDir?: string;
  dispatch?: Partial<CmdConfig['dispatch']>;
  uplink?: CmdConfig['uplink'];
  wallMs?: number;
}

export function harness(o: HarnessOptions): Harness {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'tern-cmd-'));
  const clock = new VirtualClock(1_000_000);
  const wall = { ms: o.wallMs ?? T0_MS };
  const tlm = new TelemetryRegistry();
  const log = createRootLogger({ level: 'silent' });
  const eventLog = new EventLog(log, () => clock.nowUs());
  const events: EventRecord[] = [];
  eventLog.onEvent((e) => events.push(e));
  const config: CmdConfig = {
    approvals: o.approvals ?? 2,
    operators: o.operators.map(spec),
    backend: 'noble',
    dispatch: { budgetUs: 20_000, queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 8, executionsPerSlot: 4, pendingApprovals: 4, ...o.dispatch },
    sequence: { budgetUs: 5000, stepsPerSlot: 4 },
    ...(o.uplink ? { uplink: o.uplink } : {}),
  };
  const commanding = new Commanding({ node: NODE, dataDir, config, tlm, events: eventLog, log, clock, wallMs: () => wall.ms });
  const mode = {
    modeName: 'NOMINAL',
    requestMode(next: string) {
      mode.modeName = next;
    },
  };
  commanding.bind('SET_MODE', setModeBinding(mode));
  commanding.bind('LIST_BUNDLES', { handler: (args) => ({ offset: args.offset, bundles: [] }) });
  const [dispatcher, sequencer] = commanding.tasks();
  const responses: CommandResponse[] = [];
  commanding.onResponse((r) => responses.push(r));
  const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
  const run = (slots = 1, stepMs = 10): void => {
    for (let i = 0; i < slots; i++) {
      dispatcher!.run(frame);
      sequencer!.run(frame);
      clock.advance(stepMs * 1000);
      wall.ms += stepMs;
      frame.frame++;
    }
  };
  return {
    dataDir, commanding, tlm, responses, events, clock, wall, mode, run,
    value: (name) => tlm.get(name)!.value,
    send(bytes) {
      const before = responses.length;
      commanding.submit(bytes);
      run();
      return responses.slice(before);
    },
    async deliverFile(bytes) {
      const done = commanding.uplink.receive(bytes);
      let settled = false;
      done.then(() => (settled = true), () => (settled = true));
      await until(() => {
        if (!settled) run(1);
        return settled;
      }, 'the file stored or refused');
      return done;
    },
  };
}
