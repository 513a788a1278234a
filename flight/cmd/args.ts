// Typed command arguments, declared as data (they export to the ground dictionary as they are)
// and checked before a handler sees them: on board from the CBOR envelope, on the ground from
// what the operator typed. Arguments travel as a CBOR array in declaration order.
import { BadArgument } from './errors.js';

interface ArgBase {
  readonly name: string;
  /** One line for the operator's dictionary. */
  readonly doc: string;
}

export interface IntArg extends ArgBase {
  readonly type: 'int';
  readonly min: number;
  readonly max: number;
  readonly units?: string;
}

export interface FloatArg extends ArgBase {
  readonly type: 'float';
  readonly min?: number;
  readonly max?: number;
  readonly units?: string;
}

export interface EnumArg extends ArgBase {
  readonly type: 'enum';
  /** Labels; the label itself travels (robust to reordering, readable in a hex dump). */
  readonly values: readonly string[];
}

export interface StringArg extends ArgBase {
  readonly type: 'string';
  /** Maximum length in UTF-8 bytes. */
  readonly maxLength: number;
}

export interface BytesArg extends ArgBase {
  readonly type: 'bytes';
  readonly minLength?: number;
  readonly maxLength: number;
  /** What the bytes hold, so ground tools can build them from a file. */
  readonly content?: 'sequence' | 'ml-dsa-65-public-key';
}

export type ArgSpec = IntArg | FloatArg | EnumArg | StringArg | BytesArg;
export type ArgValue = number | string | Uint8Array;
export type ArgValues = Readonly<Record<string, ArgValue>>;

const utf8 = new TextEncoder();

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'bigint') return `${value}`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function range(min: number | undefined, max: number | undefined): string {
  return `[${min ?? '-inf'}, ${max ?? 'inf'}]`;
}

/** Checks one value against its spec; returns it in the handler's type or throws BadArgument. */
export function checkArg(command: string, spec: ArgSpec, value: unknown): ArgValue {
  const fail = (expected: string): never => {
    throw new BadArgument(command, spec.name, expected, show(value));
  };
  switch (spec.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(`an integer in ${range(spec.min, spec.max)}`);
      if (value < spec.min || value > spec.max) return fail(`an integer in ${range(spec.min, spec.max)}`);
      return value;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`a finite number in ${range(spec.min, spec.max)}`);
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return fail(`a number in ${range(spec.min, spec.max)}`);
      }
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) return fail(`one of ${spec.values.join(', ')}`);
      return value;
    case 'string':
      if (typeof value !== 'string') return fail(`a string of at most ${spec.maxLength} bytes`);
      if (utf8.encode(value).length > spec.maxLength) return fail(`a string of at most ${spec.maxLength} bytes`);
      return value;
    case 'bytes': {
      const min = spec.minLength ?? 0;
      const expected = min === spec.maxLength ? `exactly ${min} bytes` : `${min} to ${spec.maxLength} bytes`;
      if (!(value instanceof Uint8Array)) return fail(expected);
      if (value.length < min || value.length > spec.maxLength) return fail(expected);
      return value;
    }
  }
}

/** Checks the positional arguments of `command` and returns them by name. */
export function checkArgs(command: string, specs: readonly ArgSpec[], values: unknown): ArgValues {
  if (!Array.isArray(values)) throw new BadArgument(command, '(arguments)', `an array of ${specs.length}`, show(values));
  if (values.length !== specs.length) {
    throw new BadArgument(command, '(arguments)', `${specs.length} argument(s) (${specs.map((s) => s.name).join(', ') || 'none'})`, `${values.length}`);
  }
  const out: Record<string, ArgValue> = {};
  specs.forEach((spec, i) => {
    out[spec.name] = checkArg(command, spec, values[i]);
  });
  return out;
}

/** The positional array that travels, from arguments by name. */
export function argArray(specs: readonly ArgSpec[], args: ArgValues): ArgValue[] {
  return specs.map((spec) => {
    const value = args[spec.name];
    if (value === undefined) throw new Error(`argument ${spec.name} missing`);
    return value;
  });
}
