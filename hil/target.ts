// The node under test and the line to it. The bench's SerialCla always opens its end of a
// pseudo-terminal pair (socat) whose other end the fault proxy (hil/proxy.ts) joins to the node's
// line: a real port (--port /dev/ttyUSB0, power cycled by a shell command driving a relay) or,
// under --spawn, a second pseudo-terminal pair whose far end a flight node child process opens
// (power cycled by SIGKILL and a restart). Links faults therefore work the same on both.
import { exec, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HilInputError, HilInterrupted } from './errors.js';

const TERN = fileURLToPath(new URL('../gse/tern.js', import.meta.url));

export interface PtyPair {
  readonly a: string;
  readonly b: string;
  /** socat's, so a bench's processes can be accounted for. */
  readonly pid: number;
  close(): Promise<void>;
}

/** A pseudo-terminal pair from socat, ended by its pid. */
export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-hil-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const failed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new HilInputError('spawn', 'socat on the PATH (it makes the pseudo-terminal pairs)', error.message))));
  const deadline = Date.now() + 10_000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      // A socat that has not made its pair in time is ended, not left behind.
      if (child.exitCode === null) child.kill('SIGTERM');
      throw new HilInputError('spawn', 'socat to make a pseudo-terminal pair', `exit ${child.exitCode}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
  }
  return {
    a, b, pid: child.pid!,
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface NodeTarget {
  /** The node's line, which the proxy opens. */
  readonly line: string;
  powerCycle(): Promise<void>;
  /** Why the node is not running, when the bench knows (a spawned node that exited). */
  down(): string | undefined;
  close(): Promise<void>;
}

/** A node on real hardware: its UART is `port`; power cycles run `hook` (a relay), if given. */
export class HardwareTarget implements NodeTarget {
  constructor(readonly line: string, private readonly hook: string | undefined) {}

  async powerCycle(): Promise<void> {
    if (this.hook === undefined) throw new Error('powerCycle needs --power-cycle CMD (a command that drives the bench relay)');
    await promisify(exec)(this.hook, { timeout: 120_000 });
  }

  down(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}

export interface SpawnedNodeOptions {
  /** The node's mission config: cla.serial and a serial neighbour (the bench) are required. */
  readonly config: string;
  readonly out: string;
  readonly baud: number;
  /** Public key files of the bench operators, replacing cmd.operators. */
  readonly operators: ReadonlyArray<{ id: number; name: string; roles: string[]; publicKeyFile: string }>;
  /** Starts the node with --lockstep: its frames run only when the bench steps them. */
  readonly lockstep?: boolean;
  /** Aborted (SIGINT): a node still starting is killed and the start fails. */
  readonly signal?: AbortSignal;
}

/** What the bench needs to know of a spawned node's config. */
export interface SpawnedIds {
  readonly node: number;
  readonly bench: number;
}

/** A flight node child process on a pseudo-terminal pair, its state in OUT/node-data. */
export class SpawnedNode implements NodeTarget {
  readonly line: string;
  readonly ids: SpawnedIds;
  private child: ChildProcess | undefined;
  private readonly configFile: string;
  private readonly log;

  private constructor(private readonly pty: PtyPair, private readonly options: SpawnedNodeOptions) {
    this.line = pty.b;
    const config = JSON.parse(readFileSync(options.config, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const serialNeighbours = Object.entries((config.cla?.neighbours ?? {}) as Record<string, { cla?: string }>).filter(([, n]) => n.cla === 'serial');
    if (!config.cla?.serial || serialNeighbours.length !== 1) throw new HilInputError('spawn', 'a node config with a cla.serial section and one serial neighbour (the bench)', options.config);
    this.ids = { node: Number(config.node?.id), bench: Number(serialNeighbours[0]![0]) };
    config.cla.serial = { ...config.cla.serial, device: pty.a, baud: options.baud };
    config.dataDir = join(options.out, 'node-data');
    if (config.cmd) config.cmd = { ...config.cmd, operators: options.operators };
    this.configFile = join(options.out, 'node.json');
    writeFileSync(this.configFile, JSON.stringify(config, null, 2));
    this.log = createWriteStream(join(options.out, 'node.log'), { flags: 'a' });
  }

  static async start(options: SpawnedNodeOptions): Promise<SpawnedNode> {
    mkdirSync(options.out, { recursive: true });
    const pty = await ptyPair();
    let node: SpawnedNode | undefined;
    try {
      node = new SpawnedNode(pty, { ...options, config: resolve(options.config) });
      await node.boot();
      return node;
    } catch (error) {
      // Nothing outlives a node that did not start: socat, and the log stream.
      if (node) await node.close();
      else await pty.close();
      throw error;
    }
  }

  /** The processes this target started (the node's changes with each power cycle). */
  get pids(): { node: number | undefined; socat: number } {
    return { node: this.child?.pid, socat: this.pty.pid };
  }

  get dataDir(): string {
    return join(this.options.out, 'node-data');
  }

  async powerCycle(): Promise<void> {
    await this.kill();
    await this.boot();
  }

  down(): string | undefined {
    const child = this.child;
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return `the node exited (${child.exitCode ?? child.signalCode}); see ${join(this.options.out, 'node.log')}`;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await this.pty.close();
    await new Promise<void>((r) => this.log.end(() => r()));
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts the node and resolves when it logged 'node started'; an abort kills it and fails. */
  private boot(): Promise<void> {
    const signal = this.options.signal;
    if (signal?.aborted) return Promise.reject(new HilInterrupted('before the node started'));
    const child = spawn(process.execPath, [TERN, 'flight', '--config', this.configFile, ...(this.options.lockstep ? ['--lockstep'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr!.pipe(this.log, { end: false });
    return new Promise<void>((done, fail) => {
      let stderr = '';
      const exit = (code: number | null): void => fail(new HilInputError('spawn', `a node that starts (see ${join(this.options.out, 'node.log')})`, `exit ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
      // The start is given up, and the half-started node ended, not left running behind an exiting bench.
      const abort = (): void => {
        child.off('exit', exit);
        void this.kill().then(() => fail(new HilInterrupted('before the node started')));
      };
      signal?.addEventListener('abort', abort, { once: true });
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', exit);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        this.log.write(`${line}\n`);
        if (line.includes('"msg":"node started"')) {
          child.off('exit', exit);
          signal?.removeEventListener('abort', abort);
          done();
        }
      });
    });
  }
}
