// Stored command sequences (as cFS SC's RTS/ATS and F Prime's CmdSequencer): uploaded in a
// signed SEQ_UPLOAD, validated against the dictionary, kept in one of SLOTS slots (persisted, so
// a reboot keeps them, stopped), started and stopped by command, and run by an executive task.
//
//   sequence = [ version: 1, onFailure: "stop" / "continue", steps: [+ step] ]
//   step     = [ timing: "abs" / "rel", timeMs: uint, opcode: uint, args: [* any] ]
//
// "abs" runs at a Unix-ms instant; if that instant passed by more than cmd.seqLateToleranceMs
// the step is skipped and reported. "rel" runs timeMs after the previous step (or the start).
// A failed step stops the sequence unless onFailure is "continue". Steps run with the authority
// of the upload: a step that is critical when it runs needs an upload that k operators approved.
import { Encoder } from 'cbor-x';
import { checkCborBounds, type CborBounds } from '../dtn/cbor.js';
import { join } from 'node:path';
import type { FrameInfo, Task } from '../exec/task.js';
import type { EventLog } from '../tlm/events.js';
import { checkArgs, type ArgValues } from './args.js';
import type { BoundCommand, CommandBinding, CommandRegistry } from './commands.js';
import { CMD_COMMANDS, CMD_EVENTS, CMD_PARAMS } from './dictionary.js';
import type { CmdChannels, Dispatcher } from './dispatcher.js';
import { CommandFailed, CommandRejected, MissingApprovals, SequenceInvalid } from './errors.js';
import type { ParameterStore } from './params.js';
import { RecordFile } from './record-file.js';

export const SEQUENCE_VERSION = 1;
export const SEQUENCE_SLOTS = CMD_COMMANDS.seqStart.args[0].max + 1;
export const MAX_STEPS = 256;
/** A sequence, checked before cbor-x decodes it: [version, onFailure, [+ [timing, timeMs, opcode, [args]]]]. */
const SEQUENCE_BOUNDS: CborBounds = { maxDepth: 4, maxItems: 4 + MAX_STEPS * 16, maxStringBytes: 16_384, maps: false };

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
/** Commands a sequence may not hold: no sequences of sequences, no key changes off-line. */
const NOT_IN_SEQUENCES = new Set<number>([
  CMD_COMMANDS.seqUpload.opcode, CMD_COMMANDS.seqStart.opcode, CMD_COMMANDS.seqStop.opcode,
  CMD_COMMANDS.operatorAdd.opcode, CMD_COMMANDS.operatorRevoke.opcode, CMD_COMMANDS.operatorRotate.opcode,
]);

export interface SequenceStep {
  readonly timing: 'abs' | 'rel';
  readonly timeMs: number;
  readonly command: BoundCommand;
  readonly args: ArgValues;
}

export interface Sequence {
  readonly onFailure: 'stop' | 'continue';
  readonly steps: readonly SequenceStep[];
}

/** Encodes a sequence for SEQ_UPLOAD (ground side). */
export function encodeSequence(onFailure: 'stop' | 'continue', steps: ReadonlyArray<{ timing: 'abs' | 'rel'; timeMs: number; opcode: number; args: readonly unknown[] }>): Uint8Array {
  return cbor.encode([SEQUENCE_VERSION, onFailure, steps.map((s) => [s.timing, s.timeMs, s.opcode, s.args])]);
}

/** Decodes and checks a sequence against the dictionary; throws SequenceInvalid naming the step. */
export function decodeSequence(bytes: Uint8Array, registry: CommandRegistry): Sequence {
  let raw: unknown;
  try {
    // Before the upload's signature is checked (SEQ_UPLOAD's criticality depends on its steps).
    checkCborBounds(bytes, SEQUENCE_BOUNDS);
    raw = cbor.decode(bytes);
  } catch (error) {
    throw new SequenceInvalid(`not one well-formed CBOR item within bounds (${(error as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw new SequenceInvalid('must be an array of 3');
  if (raw[0] !== SEQUENCE_VERSION) throw new SequenceInvalid(`version ${String(raw[0])} unsupported`);
  if (raw[1] !== 'stop' && raw[1] !== 'continue') throw new SequenceInvalid('onFailure must be "stop" or "continue"');
  if (!Array.isArray(raw[2]) || raw[2].length === 0 || raw[2].length > MAX_STEPS) throw new SequenceInvalid(`steps must be an array of 1 to ${MAX_STEPS}`);
  const steps = (raw[2] as unknown[]).map((entry, i): SequenceStep => {
    const at = `step ${i}`;
    if (!Array.isArray(entry) || entry.length !== 4) throw new SequenceInvalid(`${at}: must be an array of 4`);
    const [timing, timeMs, opcode, args] = entry as unknown[];
    if (timing !== 'abs' && timing !== 'rel') throw new SequenceInvalid(`${at}: timing must be "abs" or "rel"`);
    if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs) || timeMs < 0) throw new SequenceInvalid(`${at}: timeMs must be an unsigned integer`);
    if (typeof opcode !== 'number' || !Number.isSafeInteger(opcode)) throw new SequenceInvalid(`${at}: opcode must be an integer`);
    const command = registry.lookup(opcode);
    if (!command) throw new SequenceInvalid(`${at}: unknown opcode 0x${opcode.toString(16)}`);
    if (NOT_IN_SEQUENCES.has(opcode)) throw new SequenceInvalid(`${at}: ${command.def.name} is not allowed in a sequence`);
    try {
      return { timing, timeMs, command, args: checkArgs(command.def.name, command.def.args, args) };
    } catch (error) {
      if (error instanceof CommandRejected) throw new SequenceInvalid(`${at}: ${error.message}`);
      throw error;
    }
  });
  return { onFailure: raw[1], steps };
}

interface Stored {
  readonly sequence: Sequence;
  readonly bytes: Uint8Array;
  readonly operator: number;
  readonly approvers: readonly number[];
}

interface Running {
  readonly stored: Stored;
  next: number;
  /** Time base of the next relative step: when the previous step ran (or the start). */
  previousMs: number;
}

export interface SequencerOptions {
  readonly dataDir: string;
  readonly registry: CommandRegistry;
  readonly dispatcher: Dispatcher;
  readonly params: ParameterStore;
  readonly approvalsRequired: () => number;
  readonly channels: CmdChannels;
  readonly events: EventLog;
  readonly wallMs: () => number;
  readonly stepsPerSlot: number;
  readonly budgetUs: number;
}

export class Sequencer implements Task {
  readonly name = 'cmd.sequence';
  readonly criticality = 'normal';
  readonly budgetUs: number;
  private readonly stored: Array<Stored | undefined> = [];
  private readonly running: Array<Running | undefined> = [];
  private readonly files: RecordFile[] = [];

  constructor(private readonly o: SequencerOptions) {
    this.budgetUs = o.budgetUs;
    for (let slot = 0; slot < SEQUENCE_SLOTS; slot++) {
      this.files.push(new RecordFile(join(o.dataDir, `sequence-${slot}.rec`)));
    }
  }

  /** Reads the stored sequences; call after every command is bound (they are validated). */
  load(): void {
    for (let slot = 0; slot < SEQUENCE_SLOTS; slot++) {
      const file = this.files[slot]!;
      const read = file.read((payload) => {
        const problem = this.decodeStored(payload);
        return typeof problem === 'string' ? problem : undefined;
      });
      if (read.status === 'absent') continue;
      if (read.status === 'lost') {
        this.o.events.emit(CMD_EVENTS.recordLost, { file: file.path, problem: read.problem, fallback: `slot ${slot} empty` });
        continue;
      }
      if (read.status === 'recovered') {
        this.o.channels.recordRecoveries.add();
        this.o.events.emit(CMD_EVENTS.recordRecovered, { file: file.path, problem: read.problem, from: read.from });
      }
      this.stored[slot] = this.decodeStored(read.payload) as Stored;
    }
  }

  /** Bindings of SEQ_UPLOAD, SEQ_START and SEQ_STOP. */
  bindings(): Record<'SEQ_UPLOAD' | 'SEQ_START' | 'SEQ_STOP', CommandBinding> {
    return {
      SEQ_UPLOAD: {
        handler: (args, context) => this.upload(args.slot as number, args.sequence as Uint8Array, context.operator, context.approvers),
        critical: (args) => {
          // An undecodable sequence is not critical: the handler then fails it with the reason.
          try {
            return decodeSequence(args.sequence as Uint8Array, this.o.registry).steps.some((s) => this.o.registry.isCritical(s.command, s.args));
          } catch (error) {
            if (error instanceof SequenceInvalid) return false;
            throw error;
          }
        },
      },
      SEQ_START: { handler: (args) => this.start(args.slot as number) },
      SEQ_STOP: { handler: (args) => this.stop(args.slot as number, 'stopped by command') },
    };
  }

  upload(slot: number, bytes: Uint8Array, operator: number, approvers: readonly number[]): { slot: number; steps: number } {
    if (this.running[slot]) throw new CommandFailed(`slot ${slot} is running; stop it first`);
    const sequence = decodeSequence(bytes, this.o.registry);
    this.files[slot]!.write(cbor.encode([bytes, operator, approvers]));
    this.stored[slot] = { sequence, bytes, operator, approvers };
    this.o.events.emit(CMD_EVENTS.seqLoaded, { slot, steps: sequence.steps.length });
    return { slot, steps: sequence.steps.length };
  }

  start(slot: number): { slot: number } {
    const stored = this.stored[slot];
    if (!stored) throw new CommandFailed(`slot ${slot} holds no sequence`);
    if (this.running[slot]) throw new CommandFailed(`slot ${slot} is already running`);
    this.running[slot] = { stored, next: 0, previousMs: this.o.wallMs() };
    this.publishRunning();
    this.o.events.emit(CMD_EVENTS.seqStarted, { slot });
    return { slot };
  }

  stop(slot: number, outcome: string): { slot: number; steps: number } {
    const running = this.running[slot];
    if (!running) throw new CommandFailed(`slot ${slot} is not running`);
    this.finish(slot, outcome);
    return { slot, steps: running.next };
  }

  run(_frame: FrameInfo): void {
    let budget = this.o.stepsPerSlot;
    for (let slot = 0; slot < SEQUENCE_SLOTS && budget > 0; slot++) {
      const running = this.running[slot];
      while (running && this.running[slot] === running && budget > 0) {
        const step = running.stored.sequence.steps[running.next];
        if (!step) {
          this.finish(slot, 'completed');
          break;
        }
        const nowMs = this.o.wallMs();
        const dueMs = step.timing === 'abs' ? step.timeMs : running.previousMs + step.timeMs;
        if (nowMs < dueMs) break;
        budget--;
        running.next++;
        running.previousMs = nowMs;
        if (step.timing === 'abs' && nowMs - dueMs > this.o.params.get(CMD_PARAMS.seqLateToleranceMs.name)) {
          this.o.channels.seqSkipped.add();
          this.o.events.emit(CMD_EVENTS.seqSkipped, { slot, step: running.next - 1, command: step.command.def.name, time: new Date(step.timeMs).toISOString() });
          continue;
        }
        this.runStep(slot, running, step, nowMs);
      }
    }
  }

  private runStep(slot: number, running: Running, step: SequenceStep, nowMs: number): void {
    const index = running.next - 1;
    const { stored } = running;
    const need = this.o.approvalsRequired();
    const context = { operator: stored.operator, approvers: stored.approvers, source: 'sequence', nowMs } as const;
    const meta = { operator: stored.operator, slot, step: index };
    const response = this.o.registry.isCritical(step.command, step.args) && stored.approvers.length < need
      ? this.o.dispatcher.fail(step.command, context, meta, new MissingApprovals(stored.approvers.length, need, 'the sequence upload was not approved by k operators'))
      : this.o.dispatcher.execute(step.command, step.args, context, meta);
    if (response.status === 'executed') {
      this.o.channels.seqExecuted.add();
      return;
    }
    this.o.channels.seqFailed.add();
    this.o.events.emit(CMD_EVENTS.seqStepFailed, { slot, step: index, command: step.command.def.name, error: response.detail ?? response.status });
    if (stored.sequence.onFailure === 'stop') this.finish(slot, `stopped at step ${index} on failure`);
  }

  private finish(slot: number, outcome: string): void {
    const running = this.running[slot]!;
    this.running[slot] = undefined;
    this.publishRunning();
    this.o.events.emit(CMD_EVENTS.seqDone, { slot, outcome, steps: running.next });
  }

  private publishRunning(): void {
    this.o.channels.seqRunning.set(this.running.filter(Boolean).length);
  }

  private decodeStored(payload: Uint8Array): Stored | string {
    try {
      const raw = cbor.decode(payload) as unknown;
      if (!Array.isArray(raw) || !(raw[0] instanceof Uint8Array) || !Number.isSafeInteger(raw[1]) || !Array.isArray(raw[2])) return 'not a stored sequence';
      // Re-validated: the dictionary may have changed since the upload (a new build).
      return { sequence: decodeSequence(raw[0], this.o.registry), bytes: raw[0], operator: raw[1] as number, approvers: raw[2] as number[] };
    } catch (error) {
      return (error as Error).message;
    }
  }
}
