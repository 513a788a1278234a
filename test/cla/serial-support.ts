// Pseudo-terminal pairs from socat for the serial link tests: each end a real tty device path,
// as a USB-UART adapter would be. socat is a child process, ended by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../support/wait.js';

export interface PtyPair {
  readonly a: string;
  readonly b: string;
  close(): Promise<void>;
}

/** A connected pair of pseudo-terminals, raw, no echo. */
export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(() => existsSync(a) && existsSync(b), 'socat to make the pseudo-terminals');
  return {
    a, b,
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
