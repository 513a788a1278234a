// Structured logging: one pino root per process, NDJSON on stdout, one child per subsystem.
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: Level | 'silent';
  /** Fields bound to every line, e.g. the node number. */
  base?: Record<string, unknown>;
  /** Where the NDJSON goes; stdout (fd 1) when absent. */
  destination?: pino.DestinationStream;
}

export function createRootLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** The logger a subsystem (exec, dtn, cla, ...) writes through. */
export function subsystemLogger(root: Logger, subsystem: string): Logger {
  return root.child({ subsystem });
}
