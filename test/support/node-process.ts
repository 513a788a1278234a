// Runs the real `tern` command line as a child process, as an operator or systemd would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const TERN = `${REPO}dist/gse/tern.js`;

export interface TernProcess {
  child: ChildProcessWithoutNullStreams;
  /** Parsed NDJSON log lines from stdout so far. */
  lines: Array<Record<string, unknown>>;
  stderr: string[];
  /** Resolves with the first log line satisfying `match` (already seen or future). */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startTern(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): TernProcess {
  const child = spawn(process.execPath, [TERN, ...args], { cwd, env: { ...process.env, ...env } });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const listeners: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push(JSON.parse(text) as Record<string, unknown>); // every stdout line must be NDJSON
    for (const l of listeners.splice(0)) l();
  });
  createInterface({ input: child.stderr }).on('line', (text) => stderr.push(text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${stderr.join('\n')}`)), timeoutMs);
      const check = (): void => {
        const found = lines.find(match);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else listeners.push(check);
      };
      check();
    });
  return { child, lines, stderr, waitForLine, exited };
}
