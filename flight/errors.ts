// Typed errors. Every boundary where bytes come in (links, files, commands, config) throws a
// subclass of TernError, so callers can count and report by `code` without parsing messages.

export abstract class TernError extends Error {
  /** Stable machine-readable code, used as the telemetry counter key. */
  abstract readonly code: string;
}

/** A mission config (or other operator-written file) is invalid. Names file, field, expectation. */
export class ConfigError extends TernError {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(
      `${file}: ${field}: expected ${expected}` +
        (got === undefined ? '' : `, got ${describe(got)}`),
    );
    this.name = 'ConfigError';
  }
}

/** A short, log-safe rendering of an offending value. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
