// A real unix datagram socket standing in for systemd's NOTIFY_SOCKET. Node cannot bind one, so
// a tiny python3 process does, printing each datagram as a line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from './wait.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    for line in s.recv(4096).decode().splitlines():
        print(line, flush=True)
`;

export interface NotifySocket {
  path: string;
  /** Every notification line received so far, BARRIER=1 (systemd-notify's sync) left out. */
  messages: string[];
  waitFor(message: string, count?: number): Promise<void>;
  close(): void;
}

export async function notifySocket(): Promise<NotifySocket> {
  const path = join(mkdtempSync(join(tmpdir(), 'tern-notify-')), 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let listening = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'LISTENING') listening = true;
    else if (line !== 'BARRIER=1') messages.push(line);
  });
  await until(() => listening, 'the notify socket receiver to bind');
  const waitFor = (message: string, count = 1): Promise<void> =>
    until(() => messages.filter((m) => m === message).length >= count, `${count} x ${message} on the notify socket`);
  return { path, messages, waitFor, close: () => child.kill() };
}
