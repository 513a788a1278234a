// The console's command desk: a command typed into the page is checked against the dictionary
// exactly as `tern gse send` checks it (gse/command-args.ts), signed with the key the console was
// started with (the operator's own, on the operator's machine), sent as a bundle through the
// ground station and recorded in the archive with who sent it. A critical command can be held
// instead: its envelope is downloaded, co-signed by a second operator on their machine (`tern
// gse cosign`, or their own console) and uploaded again; the console keeps it until it is sent.
import { existsSync, readFileSync } from 'node:fs';
import { checkArgs, type ArgValues } from '../../flight/cmd/args.js';
import type { CommandDef } from '../../flight/cmd/commands.js';
import {
  bodyDigest, cosignEnvelope, decodeEnvelope, encodeBody, hexId, signEnvelope, type Envelope, type Signer,
} from '../../flight/cmd/envelope.js';
import { BadArgument } from '../../flight/cmd/errors.js';
import type { Dictionary } from '../../flight/cmd/export.js';
import type { MlDsa } from '../../flight/cmd/mldsa.js';
import { writeFileDurable } from '../../flight/durable.js';
import { TernError } from '../../flight/errors.js';
import { findCommand, parseValue } from '../command-args.js';
import type { Archive } from './archive.js';

export class DeskError extends TernError {
  readonly code = 'CONSOLE_COMMAND_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'DeskError';
  }
}

/** What the page asks for: the command by name, its arguments as typed, by name. */
export interface CommandForm {
  readonly node: number;
  readonly command: string;
  readonly args: Readonly<Record<string, string>>;
  readonly expiresS?: number;
  /** Keep the signed envelope for co-signing instead of sending it. */
  readonly hold?: boolean;
}

/** A command held for more signatures, as the page shows it. */
export interface HeldView {
  readonly digest: string;
  readonly node: number;
  readonly command: string;
  readonly critical: string;
  readonly args: Record<string, string>;
  readonly originator: number;
  readonly seq: number;
  readonly expiresMs: number;
  readonly signedBy: number[];
}

interface Held { bytes: Uint8Array; envelope: Envelope; command: CommandDef; args: ArgValues }

export interface DeskOptions {
  readonly dictionary: Dictionary;
  readonly archive: Archive;
  readonly dsa: MlDsa;
  /** The console operator's key (and its file, beside which the sequence counter lives). */
  readonly signer?: Signer & { readonly name: string; readonly file: string };
  /** Hands a signed envelope to the ground station; resolves with where it went. */
  readonly transmit: (envelope: Uint8Array, target: number, expiryMs: number) => Promise<string>;
  /** Something the page shows changed (a command sent, held, co-signed). */
  readonly onChange: () => void;
}

const DEFAULT_EXPIRES_S = 600;
const MAX_EXPIRES_S = 7 * 86400;

/** An argument as the page shows it (bytes by length and first bytes, never dumped whole). */
function shown(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes ${Buffer.from(value.subarray(0, 8)).toString('hex')}${value.length > 8 ? '...' : ''}`;
  return String(value);
}

export function criticality(command: CommandDef): string {
  return command.criticality === 'critical' ? 'critical' : command.criticalWhen ? `critical when ${command.criticalWhen}` : '';
}

/**
 * The form's text as typed arguments, checked against the dictionary as the CLI checks them.
 * Bytes come only as hex: or base64: here: @FILE would read a file of the console's machine.
 */
export function formArgs(dictionary: Dictionary, command: CommandDef, text: Readonly<Record<string, string>>): ArgValues {
  const values = command.args.map((spec) => {
    const typed = text[spec.name];
    if (typed === undefined || typed === '') throw new BadArgument(command.name, spec.name, 'a value (missing)');
    if (spec.type === 'bytes' && typed.startsWith('@')) throw new BadArgument(command.name, spec.name, 'hex:... or base64:... (files are not read from the console)', typed.slice(0, 20));
    return parseValue(command, spec, typed, dictionary);
  });
  const unknown = Object.keys(text).filter((name) => !command.args.some((a) => a.name === name));
  if (unknown.length > 0) throw new BadArgument(command.name, unknown[0]!, `one of ${command.args.map((a) => a.name).join(', ') || '(no arguments)'}`);
  return checkArgs(command.name, command.args, values);
}

export class CommandDesk {
  private readonly held = new Map<string, Held>();

  constructor(private readonly options: DeskOptions) {}

  get operator(): { id: number; name: string } | undefined {
    const s = this.options.signer;
    return s ? { id: s.operator, name: s.name } : undefined;
  }

  /** The next sequence number, in the same FILE.seq counter `tern gse send` advances. */
  private nextSeq(keyFile: string): number {
    const counter = `${keyFile}.seq`;
    const last = existsSync(counter) ? Number(readFileSync(counter, 'utf8').trim()) : 0;
    if (!Number.isSafeInteger(last) || last < 0) throw new DeskError(`${counter} holds no sequence number; fix or delete it`);
    writeFileDurable(counter, `${last + 1}\n`); // before the envelope leaves: never used twice
    return last + 1;
  }

  /** Signs the command of `form`; sends it, or holds it for co-signing. Returns its digest. */
  async submit(user: string, form: CommandForm, nowMs = Date.now()): Promise<{ digest: string; held: boolean; where?: string }> {
    const { dictionary, dsa, signer } = this.options;
    if (!signer) throw new DeskError('this console was started without --key: it can send only envelopes signed elsewhere (upload one)');
    if (!Number.isSafeInteger(form.node) || form.node < 1) throw new DeskError(`node must be a node number, got ${JSON.stringify(form.node)}`);
    const command = findCommand(dictionary, form.command);
    if (!command) throw new DeskError(`unknown command ${JSON.stringify(form.command)} (dictionary ${dictionary.hash})`);
    const args = formArgs(dictionary, command, form.args);
    const expiresS = form.expiresS ?? DEFAULT_EXPIRES_S;
    if (!Number.isSafeInteger(expiresS) || expiresS < 1 || expiresS > MAX_EXPIRES_S) throw new DeskError(`expiry must be 1..${MAX_EXPIRES_S} s, got ${expiresS}`);
    const expiryMs = nowMs + expiresS * 1000;
    const body = encodeBody({ target: form.node, operator: signer.operator, seq: this.nextSeq(signer.file), expiryMs, opcode: command.opcode, args: command.args.map((a) => args[a.name]!) });
    const bytes = signEnvelope(dsa, body, form.node, [signer]);
    const envelope = decodeEnvelope(bytes);
    const digest = bodyDigest(envelope.bodyBytes).slice(0, 16);
    if (form.hold) {
      this.held.set(digest, { bytes, envelope, command, args });
      this.record(user, { bytes, envelope, command, args }, 'held for co-signature', nowMs);
      this.options.onChange();
      return { digest, held: true };
    }
    const where = await this.transmit(user, { bytes, envelope, command, args }, nowMs);
    return { digest, held: false, where };
  }

  private record(user: string, h: Held, outcome: string, nowMs: number): void {
    const { body } = h.envelope;
    this.options.archive.recordCommand({
      tMs: nowMs, node: body.target, command: h.command.name, opcode: h.command.opcode,
      args: Object.fromEntries(Object.entries(h.args).map(([k, v]) => [k, shown(v)])), operator: body.operator, seq: body.seq,
      digest: bodyDigest(h.envelope.bodyBytes).slice(0, 16), signatures: h.envelope.signatures.length,
      sentBy: `${user} (console operator ${this.operator ? `${this.operator.name}, ${this.operator.id}` : 'none'})`, outcome, envelope: h.bytes,
    });
  }

  private async transmit(user: string, h: Held, nowMs: number): Promise<string> {
    const { body } = h.envelope;
    if (body.expiryMs <= nowMs) throw new DeskError(`the command expired at ${new Date(body.expiryMs).toISOString()}`);
    let where: string;
    try {
      where = await this.options.transmit(h.bytes, body.target, body.expiryMs);
    } catch (error) {
      if (!(error instanceof TernError)) throw error;
      this.record(user, h, `not sent: ${error.message}`, nowMs);
      this.options.onChange();
      throw error;
    }
    this.record(user, h, `sent with ${h.envelope.signatures.length} signature(s) -> ${where}`, nowMs);
    this.options.onChange();
    return where;
  }

  heldCommands(): HeldView[] {
    return [...this.held.entries()].map(([digest, h]) => ({
      digest, node: h.envelope.body.target, command: h.command.name, critical: criticality(h.command),
      args: Object.fromEntries(Object.entries(h.args).map(([k, v]) => [k, shown(v)])),
      originator: h.envelope.body.operator, seq: h.envelope.body.seq, expiresMs: h.envelope.body.expiryMs,
      signedBy: h.envelope.signatures.map((s) => s.operator),
    }));
  }

  envelope(digest: string): Uint8Array {
    const h = this.held.get(digest);
    if (!h) throw new DeskError(`no command ${digest} is held here`);
    return h.bytes;
  }

  /**
   * An envelope signed elsewhere: a co-signed copy of one held here (same body bytes, every
   * signature already held kept byte for byte) replaces it; any other valid one is held anew.
   */
  upload(user: string, bytes: Uint8Array, nowMs = Date.now()): HeldView {
    const envelope = decodeEnvelope(bytes); // MalformedEnvelope for anything else
    const command = this.options.dictionary.commands.find((c) => c.opcode === envelope.body.opcode);
    if (!command) throw new DeskError(`opcode 0x${envelope.body.opcode.toString(16)} is not in the dictionary ${this.options.dictionary.hash}`);
    const args = checkArgs(command.name, command.args, envelope.body.args);
    if (envelope.body.expiryMs <= nowMs) throw new DeskError(`the command expired at ${new Date(envelope.body.expiryMs).toISOString()}`);
    const digest = bodyDigest(envelope.bodyBytes).slice(0, 16);
    const before = this.held.get(digest);
    if (before) {
      const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
      if (!same(before.envelope.bodyBytes, envelope.bodyBytes)) throw new DeskError(`${digest}: body differs from the held command`);
      for (const s of before.envelope.signatures) {
        if (!envelope.signatures.some((t) => t.operator === s.operator && same(t.signature, s.signature))) {
          throw new DeskError(`${digest}: the signature of operator ${s.operator} (key id ${hexId(s.keyId)}) is missing or changed`);
        }
      }
    }
    this.held.set(digest, { bytes, envelope, command, args });
    this.record(user, { bytes, envelope, command, args }, `uploaded with ${envelope.signatures.length} signature(s)`, nowMs);
    this.options.onChange();
    return this.heldCommands().find((h) => h.digest === digest)!;
  }

  /** Adds this console operator's signature to a held command (the second operator's console). */
  cosign(user: string, digest: string, nowMs = Date.now()): HeldView {
    const { signer, dsa } = this.options;
    if (!signer) throw new DeskError('this console was started without --key: it has no signature to add');
    const h = this.held.get(digest);
    if (!h) throw new DeskError(`no command ${digest} is held here`);
    const bytes = cosignEnvelope(dsa, h.bytes, [signer]); // CosignRefused: already signed, or full
    return this.upload(user, bytes, nowMs);
  }

  async sendHeld(user: string, digest: string, nowMs = Date.now()): Promise<string> {
    const h = this.held.get(digest);
    if (!h) throw new DeskError(`no command ${digest} is held here`);
    const where = await this.transmit(user, h, nowMs);
    this.held.delete(digest);
    this.options.onChange();
    return where;
  }
}
