// The node's models: the active one, the previous one to roll back to, and activation of a new
// one that reached the node as a file. A model is activated only after the file is the one the
// operators approved (its SHA-256, named by the activating command), its .tern checksum, body
// digest, records and geometry verify and it has loaded into a core of its own; any failure is a typed error, a counter and
// an event, and the running model keeps running. Files and the active/previous record are
// written durably (temporary file, fsync, rename), so a power loss leaves the old or the new
// choice, never neither. Only the active and the previous files are kept (what a restart and a
// rollback read); the others are removed durably once the record no longer names them.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceCore, type CoreVariant } from '../core/wasm.js';
import { removeFileDurable, writeFileDurable } from '../durable.js';
import { TernError } from '../errors.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { channelsOnce, INFER_CHANNELS, INFER_EVENTS } from './dictionary.js';
import { ModelFormatError } from './errors.js';
import { isTern, modelDigest, readTern } from './format.js';
import { LoadedModel } from './model.js';

const DIGEST = /^[0-9a-f]{64}$/;
const STORED = /^([0-9a-f]{64})\.tern$/;
const RECORD = 'models.json';

interface ModelRecord {
  active?: string;
  previous?: string;
}

export interface ModelManagerOptions {
  /** Directory holding <sha256>.tern files and the active/previous record. */
  readonly dir: string;
  readonly variant?: CoreVariant;
  /** Checks a verified model before it becomes active (e.g. it fits a task's budget); throws to refuse. */
  readonly accept?: (model: LoadedModel) => void;
}

export class ModelManager {
  private record: ModelRecord = {};
  private current: LoadedModel | undefined;
  private readonly listeners: Array<(model: LoadedModel, digest: string) => void> = [];
  private telemetry: { channels: Record<keyof typeof INFER_CHANNELS, Channel>; events: EventLog } | undefined;

  constructor(private readonly options: ModelManagerOptions) {
    mkdirSync(options.dir, { recursive: true });
  }

  bindTelemetry(tlm: TelemetryRegistry, events: EventLog): void {
    this.telemetry = { channels: channelsOnce(tlm, INFER_CHANNELS), events };
  }

  /** Called with each model that becomes active. */
  onActivate(listener: (model: LoadedModel, digest: string) => void): void {
    this.listeners.push(listener);
  }

  get model(): LoadedModel | undefined {
    return this.current;
  }

  get active(): string | undefined {
    return this.record.active;
  }

  get previous(): string | undefined {
    return this.record.previous;
  }

  /** At start: loads the recorded active model, or the previous one if the active fails. */
  open(): LoadedModel | undefined {
    const file = join(this.options.dir, RECORD);
    if (!existsSync(file)) return undefined;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ModelRecord;
    this.record = { ...(parsed.active && DIGEST.test(parsed.active) ? { active: parsed.active } : {}), ...(parsed.previous && DIGEST.test(parsed.previous) ? { previous: parsed.previous } : {}) };
    for (const digest of [this.record.active, this.record.previous]) {
      if (!digest) continue;
      try {
        this.install(this.load(this.stored(digest), digest), digest);
        if (digest !== this.record.active) this.write({ active: digest });
        return this.current;
      } catch (error) {
        this.refuse(`${digest}.tern`, error);
      }
    }
    return undefined;
  }

  /** Verifies `bytes` (a .tern whose digest must be `sha256`), stores it and makes it active;
   *  the model that was active becomes the previous one. */
  activate(bytes: Uint8Array, sha256: string, file = 'model'): LoadedModel {
    try {
      if (!DIGEST.test(sha256)) throw new ModelFormatError('sha256', '64 lowercase hex digits', sha256);
      if (!isTern(bytes)) throw new ModelFormatError('file', 'a .tern model (tern infer import)');
      const model = this.load(bytes, sha256);
      const path = this.path(sha256);
      if (!existsSync(path)) writeFileDurable(path, bytes);
      this.write({ active: sha256, ...(this.record.active && this.record.active !== sha256 ? { previous: this.record.active } : this.record.previous ? { previous: this.record.previous } : {}) });
      this.install(model, sha256);
      return model;
    } catch (error) {
      this.refuse(file, error);
      throw error;
    }
  }

  /** Reads an uplinked file without blocking the frame thread, then activates it if it is the
   *  file the operators approved (`sha256`, its SHA-256). */
  async activateFile(path: string, sha256: string): Promise<LoadedModel> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      this.refuse(path, error);
      throw error;
    }
    return this.activate(bytes, sha256, path);
  }

  /** Loads the active model again from its stored file, verified again (protected memory found
   *  its weights damaged beyond repair). */
  reload(): LoadedModel {
    const active = this.record.active;
    if (!active) throw new ModelFormatError('active model', 'one to reload', 'none');
    return this.activate(this.stored(active), active, `${active}.tern`);
  }

  /** Makes the previous model active again (verified again from its stored file). */
  rollback(): LoadedModel {
    const previous = this.record.previous;
    if (!previous) throw new ModelFormatError('previous model', 'one to roll back to', 'none');
    return this.activate(this.stored(previous), previous, `${previous}.tern`);
  }

  private path(digest: string): string {
    return join(this.options.dir, `${digest}.tern`);
  }

  private stored(digest: string): Uint8Array {
    return readFileSync(this.path(digest));
  }

  /** Verifies and loads into a new core: nothing is shared with the running model. */
  private load(bytes: Uint8Array, sha256: string): LoadedModel {
    const plan = readTern(bytes);
    const digest = modelDigest(bytes);
    if (digest !== sha256) throw new ModelFormatError('sha256', `the approved digest ${sha256}`, digest);
    const model = new LoadedModel(new InferenceCore(this.options.variant), plan);
    this.options.accept?.(model);
    return model;
  }

  private install(model: LoadedModel, digest: string): void {
    this.current = model;
    this.telemetry?.events.emit(INFER_EVENTS.modelActivated, { sha256: digest, layers: model.plan.layers.length });
    for (const listener of this.listeners) listener(model, digest);
  }

  private write(record: ModelRecord): void {
    writeFileDurable(join(this.options.dir, RECORD), JSON.stringify(record));
    this.record = record;
    this.prune();
  }

  /** Removes the model files the record does not name (a crash before this leaves them for the next write). */
  private prune(): void {
    for (const name of readdirSync(this.options.dir)) {
      const digest = STORED.exec(name)?.[1];
      if (!digest || digest === this.record.active || digest === this.record.previous) continue;
      removeFileDurable(join(this.options.dir, name));
      this.telemetry?.channels.modelsRemoved.add();
    }
  }

  /** Counts and reports a model file refused (here, or by the service that received it). */
  refuse(file: string, error: unknown): void {
    this.telemetry?.channels.modelsRefused.add();
    const code = error instanceof TernError ? error.code : (error as NodeJS.ErrnoException).code ?? 'ERROR';
    this.telemetry?.events.emit(INFER_EVENTS.modelRefused, { file, code, reason: error instanceof Error ? error.message : String(error) });
  }
}
