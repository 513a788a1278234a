// Turning what an operator typed into command arguments, checked against the dictionary before
// anything is signed or sent. Values are positional (in declaration order) or NAME=VALUE.
//   int     decimal or 0x hex           float  any JS number literal
//   enum    a label (case-insensitive)  string as typed
//   bytes   hex:..., base64:..., or @FILE; @FILE.pub.json for a public key (its publicKey) and
//           @FILE.json for a sequence (compiled from JSON, see compileSequence)
import { readFileSync } from 'node:fs';
import { checkArg, checkArgs, type ArgSpec, type ArgValue, type ArgValues } from '../flight/cmd/args.js';
import type { CommandDef } from '../flight/cmd/commands.js';
import { BadArgument, CommandRejected } from '../flight/cmd/errors.js';
import { encodeSequence } from '../flight/cmd/sequence.js';
import type { Dictionary } from '../flight/cmd/export.js';

/** Finds a command by name (any case) or opcode (decimal or 0x hex). */
export function findCommand(dictionary: Dictionary, text: string): CommandDef | undefined {
  const opcode = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : undefined;
  return dictionary.commands.find((c) => (opcode !== undefined ? c.opcode === opcode : c.name === text.toUpperCase()));
}

function bytesFrom(command: CommandDef, spec: ArgSpec & { type: 'bytes' }, text: string, dictionary: Dictionary): Uint8Array {
  if (text.startsWith('hex:')) {
    const hex = text.slice(4);
    if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new BadArgument(command.name, spec.name, 'hex digits in pairs after hex:', text.slice(0, 20));
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (text.startsWith('base64:')) return new Uint8Array(Buffer.from(text.slice(7), 'base64'));
  if (!text.startsWith('@')) throw new BadArgument(command.name, spec.name, 'hex:..., base64:... or @FILE', text.slice(0, 20));
  const file = text.slice(1);
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new BadArgument(command.name, spec.name, 'a readable file', `${file}: ${(error as Error).message}`);
  }
  if (spec.content === 'ml-dsa-65-public-key' && file.endsWith('.json')) {
    const key = JSON.parse(content.toString('utf8')) as { publicKey?: unknown };
    if (typeof key.publicKey !== 'string') throw new BadArgument(command.name, spec.name, 'a public key file with a publicKey field', file);
    return new Uint8Array(Buffer.from(key.publicKey, 'base64'));
  }
  if (spec.content === 'sequence' && file.endsWith('.json')) return compileSequence(JSON.parse(content.toString('utf8')), dictionary, file);
  return new Uint8Array(content);
}

/** One typed value from text (or a JSON value, for sequence files). */
export function parseValue(command: CommandDef, spec: ArgSpec, value: unknown, dictionary: Dictionary): ArgValue {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    switch (spec.type) {
      case 'int':
        parsed = /^-?(0x[0-9a-f]+|\d+)$/i.test(value) ? (value.startsWith('-') ? -Number(value.slice(1)) : Number(value)) : value;
        break;
      case 'float':
        parsed = value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
        break;
      case 'enum':
        parsed = spec.values.find((v) => v.toUpperCase() === value.toUpperCase()) ?? value;
        break;
      case 'bytes':
        parsed = bytesFrom(command, spec, value, dictionary);
        break;
      case 'string':
        break;
    }
  }
  return checkArg(command.name, spec, parsed);
}

/** Arguments from the command line, positional or NAME=VALUE; throws BadArgument. */
export function parseArgs(command: CommandDef, words: readonly string[], dictionary: Dictionary): ArgValues {
  const byName = new Map<string, string>();
  const positional: string[] = [];
  for (const word of words) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
    if (match && command.args.some((a) => a.name === match[1])) byName.set(match[1]!, match[2]!);
    else positional.push(word);
  }
  if (positional.length > 0 && byName.size > 0) {
    throw new BadArgument(command.name, '(arguments)', 'all positional or all NAME=VALUE', words.join(' '));
  }
  const values = byName.size > 0
    ? command.args.map((spec) => {
        const text = byName.get(spec.name);
        if (text === undefined) throw new BadArgument(command.name, spec.name, 'a value (missing)');
        return parseValue(command, spec, text, dictionary);
      })
    : positional.map((text, i) => {
        const spec = command.args[i];
        if (!spec) throw new BadArgument(command.name, '(arguments)', `${command.args.length} argument(s) (${command.args.map((a) => a.name).join(', ') || 'none'})`, `${positional.length}`);
        return parseValue(command, spec, text, dictionary);
      });
  return checkArgs(command.name, command.args, values);
}

/**
 * Compiles a JSON sequence file for SEQ_UPLOAD, checking each step against the dictionary:
 *   { "onFailure": "stop" | "continue",
 *     "steps": [ { "at": "2030-01-01T00:00:05Z" | <Unix ms>, "command": "PING", "args": [1] },
 *                { "after": <ms since the previous step>, "command": "NOOP" } ] }
 */
export function compileSequence(raw: unknown, dictionary: Dictionary, file: string): Uint8Array {
  const fail = (detail: string): never => {
    throw new BadArgument('SEQ_UPLOAD', 'sequence', `a valid sequence file (${detail})`, file);
  };
  if (typeof raw !== 'object' || raw === null) return fail('a JSON object');
  const { onFailure = 'stop', steps } = raw as { onFailure?: unknown; steps?: unknown };
  if (onFailure !== 'stop' && onFailure !== 'continue') return fail('onFailure must be "stop" or "continue"');
  if (!Array.isArray(steps) || steps.length === 0) return fail('steps must be a non-empty array');
  const compiled = steps.map((step: unknown, i) => {
    const s = (typeof step === 'object' && step !== null ? step : {}) as { at?: unknown; after?: unknown; command?: unknown; args?: unknown };
    const command = typeof s.command === 'string' ? findCommand(dictionary, s.command) : undefined;
    if (!command) return fail(`step ${i}: unknown command ${JSON.stringify(s.command)}`);
    const args = Array.isArray(s.args) ? s.args : s.args === undefined ? [] : fail(`step ${i}: args must be an array`);
    let values: ArgValue[];
    try {
      if (args.length !== command.args.length) checkArgs(command.name, command.args, args);
      values = command.args.map((spec, j) => parseValue(command, spec, args[j], dictionary));
    } catch (error) {
      if (error instanceof CommandRejected) return fail(`step ${i}: ${error.message}`);
      throw error;
    }
    if ((s.at === undefined) === (s.after === undefined)) return fail(`step ${i}: exactly one of at, after`);
    if (s.after !== undefined) {
      if (typeof s.after !== 'number' || !Number.isSafeInteger(s.after) || s.after < 0) return fail(`step ${i}: after must be milliseconds`);
      return { timing: 'rel' as const, timeMs: s.after, opcode: command.opcode, args: values };
    }
    const at = typeof s.at === 'string' ? Date.parse(s.at) : s.at;
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return fail(`step ${i}: at must be an ISO time or Unix milliseconds`);
    return { timing: 'abs' as const, timeMs: at, opcode: command.opcode, args: values };
  });
  return encodeSequence(onFailure, compiled);
}
