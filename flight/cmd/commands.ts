// The command registry. Commands are declared as data in their subsystem's dictionary file
// (`satisfies Record<string, CommandDef>`); their handlers are bound at composition, where the
// owning subsystem exists. The dispatcher refuses to start while any command has no handler.
import type { ArgSpec, ArgValues } from './args.js';
import type { Signature } from './envelope.js';

export type CommandCriticality = 'normal' | 'critical';

export interface CommandDef {
  readonly name: string;
  /** 16-bit; the high byte is the owning subsystem's range (as event ids: 0x01 exec, 0x05 cmd). */
  readonly opcode: number;
  /** The subsystem whose handler runs it. */
  readonly owner: string;
  readonly doc: string;
  readonly args: readonly ArgSpec[];
  /** `critical` needs k-of-n operator approvals every time. */
  readonly criticality: CommandCriticality;
  /** For a normal command that becomes critical with some arguments or states: when, in words. */
  readonly criticalWhen?: string;
}

/** Where a command came from, as its handler sees it. */
export interface CommandContext {
  /** The operator who originated it (uploaded the sequence, for a sequence step). */
  readonly operator: number;
  /** Operators whose valid signatures it carries (with approve role, for critical commands). */
  readonly approvers: readonly number[];
  readonly source: 'ground' | 'sequence';
  /** Wall-clock time, Unix milliseconds. */
  readonly nowMs: number;
  /** The signed body and the signatures that authorized it (absent for sequence steps). */
  readonly authorization?: { readonly bodyBytes: Uint8Array; readonly signatures: readonly Signature[] };
}

/** What a handler returns for the ground: any CBOR-encodable record, or nothing. */
export type CommandResult = Readonly<Record<string, unknown>> | undefined;

export interface CommandBinding {
  /** Runs synchronously within the dispatcher's slot; throws to fail the command. */
  handler(args: ArgValues, context: CommandContext): CommandResult;
  /** For `criticalWhen` commands: whether these arguments, now, need k-of-n approval. */
  critical?(args: ArgValues): boolean;
}

export interface BoundCommand {
  readonly def: CommandDef;
  readonly binding: CommandBinding;
}

export class CommandRegistry {
  private readonly byOpcode = new Map<number, CommandDef>();
  private readonly byName = new Map<string, CommandDef>();
  private readonly bindings = new Map<number, CommandBinding>();

  /** Declares every command of a dictionary; a clashing opcode or name is a programming error. */
  declare(defs: Readonly<Record<string, CommandDef>>): void {
    for (const def of Object.values(defs)) {
      if (!Number.isInteger(def.opcode) || def.opcode < 0 || def.opcode > 0xffff) throw new Error(`${def.name}: opcode must be 16-bit`);
      const clash = this.byOpcode.get(def.opcode) ?? this.byName.get(def.name);
      if (clash) throw new Error(`command ${def.name} (0x${def.opcode.toString(16)}) clashes with ${clash.name}`);
      this.byOpcode.set(def.opcode, def);
      this.byName.set(def.name, def);
    }
  }

  bind(name: string, binding: CommandBinding): void {
    const def = this.byName.get(name);
    if (!def) throw new Error(`cannot bind ${name}: not declared`);
    if (this.bindings.has(def.opcode)) throw new Error(`${name} bound twice`);
    if (binding.critical && !def.criticalWhen && def.criticality === 'normal') {
      throw new Error(`${name}: a critical() predicate needs criticalWhen in the declaration (the ground must know)`);
    }
    this.bindings.set(def.opcode, binding);
  }

  def(opcode: number): CommandDef | undefined {
    return this.byOpcode.get(opcode);
  }

  named(name: string): CommandDef | undefined {
    return this.byName.get(name);
  }

  /** The command with its handler; undefined if unknown (or not yet bound). */
  lookup(opcode: number): BoundCommand | undefined {
    const def = this.byOpcode.get(opcode);
    const binding = this.bindings.get(opcode);
    return def && binding ? { def, binding } : undefined;
  }

  /** Whether `args` of this command need k-of-n approval now. */
  isCritical(command: BoundCommand, args: ArgValues): boolean {
    return command.def.criticality === 'critical' || (command.binding.critical?.(args) ?? false);
  }

  all(): CommandDef[] {
    return [...this.byOpcode.values()].sort((a, b) => a.opcode - b.opcode);
  }

  /** Declared commands without a handler; composition must leave none. */
  unbound(): string[] {
    return this.all().filter((d) => !this.bindings.has(d.opcode)).map((d) => d.name);
  }
}
