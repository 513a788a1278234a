// Runs the real `tern` command line as a child process, as an operator or systemd would.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { DEFAULT_WAIT_MS, eventually } from './wait.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const TERN = `${REPO}dist/gse/tern.js`;

export interface TernProcess {
  child: ChildProcessWithoutNullStreams;
  /** Parsed NDJSON log lines from stdout so far. */
  lines: Array<Record<string, unknown>>;
  stderr: string[];
  /** Resolves with the first log line satisfying `match` (already seen or future); rejects at the
   *  deadline, or as soon as the process has ended without printing one. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startTern(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): TernProcess {
  const child = spawn(process.execPath, [TERN, ...args], { cwd, env: { ...process.env, ...env } });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let ended = false;
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push(JSON.parse(text) as Record<string, unknown>); // every stdout line must be NDJSON
  });
  createInterface({ input: child.stderr }).on('line', (text) => stderr.push(text));
  // 'close' comes after the last output line was read, so a line printed before the end is seen.
  child.on('close', () => (ended = true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = async (match: (line: Record<string, unknown>) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Record<string, unknown>> => {
    try {
      return await eventually(() => {
        const found = lines.find(match);
        if (!found && ended) throw new Error(`tern ${args.join(' ')} ended (${child.exitCode ?? child.signalCode}) without a matching log line`);
        return found;
      }, `a matching log line from tern ${args.join(' ')}`, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; stderr: ${stderr.join('\n')}`);
    }
  };
  return { child, lines, stderr, waitForLine, exited };
}

/** Runs `tern ARGS` in `cwd` to the end: its exit code and output, whatever the code. */
export async function runTern(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TERN, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** SIGKILLs every process of a test that is still running. */
export function killAll(processes: ReadonlyArray<TernProcess | undefined>): void {
  for (const p of processes) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}
