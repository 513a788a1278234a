// Field readers for operator-written JSON (mission configs, later model and sequence files).
// Each reader either returns a value of the right type or throws a ConfigError naming the file,
// the dotted field path and what was expected.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/**
 * The JSON value in `file`; a file that cannot be read, or is not JSON, is a ConfigError naming
 * it. `what` says what the file should have been ("a mission config file").
 */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '(file)', `a readable ${what}`, systemReason(error));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(file, '(file)', 'valid JSON', (error as Error).message);
  }
}

/**
 * Why a file could not be read, without the path Node appends (the error names the file already,
 * and a long path would be cut short): "ENOENT: no such file or directory".
 */
function systemReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.syscall ? e.message.replace(new RegExp(`, ${e.syscall} .*$`), '') : e.message;
}

export class Fields {
  constructor(readonly file: string) {}

  fail(field: string, expected: string, got?: unknown): never {
    throw new ConfigError(this.file, field, expected, got);
  }

  object(value: unknown, field: string, allowed?: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, 'an object', value);
    }
    const obj = value as Record<string, unknown>;
    if (allowed) {
      for (const key of Object.keys(obj)) {
        if (!allowed.includes(key)) {
          this.fail(join(field, key), `a known field (${allowed.join(', ')})`, key);
        }
      }
    }
    return obj;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'an array', value);
    return value;
  }

  string(value: unknown, field: string, pattern?: RegExp): string {
    if (typeof value !== 'string' || value.length === 0) this.fail(field, 'a non-empty string', value);
    if (pattern && !pattern.test(value)) this.fail(field, `a string matching ${pattern}`, value);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, 'true or false', value);
    return value;
  }

  number(value: unknown, field: string, min = -Infinity, max = Infinity): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.fail(field, `a number in [${min}, ${max}]`, value);
    }
    return value;
  }

  integer(value: unknown, field: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `an integer in [${min}, ${max}]`, value);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !options.includes(value as T)) {
      this.fail(field, `one of ${options.join(', ')}`, value);
    }
    return value as T;
  }
}

/** `join('exec.modes', 'SAFE')` -> `exec.modes.SAFE`. */
export function join(field: string, key: string | number): string {
  if (typeof key === 'number') return `${field}[${key}]`;
  return field ? `${field}.${key}` : key;
}
