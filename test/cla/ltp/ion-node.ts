// A real ION node (NASA JPL's ION-DTN) for the opt-in interop tests: its configuration files
// written from one description, started with ION's own admin programs, stopped the same way.
// Nothing is killed by name: ION's `ionstop` ends a single node with `killm`, which kills every
// ION process on the machine, so this helper stops its node with `bpadmin .`, `ltpadmin .` and
// `ionadmin .`, as ionstop does for a node of a multi-node machine.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IonNodeSpec {
  /** The ION install prefix (bin/ionadmin, lib/libici.so ...). */
  readonly prefix: string;
  /** Working folder of the node: its rc files, ion.log and received files go there. */
  readonly dir: string;
  /** ION's node number, which is also its LTP engine number. */
  readonly node: number;
  /** The Tern node (and LTP engine) number at the other end of the span. */
  readonly peer: number;
  /** Further node numbers ION reaches through the peer (a ground node behind Tern). */
  readonly via?: readonly number[];
  /** UDP port ION's udplsi listens on (127.0.0.1). */
  readonly ltpPort: number;
  /** UDP port ION's udplso sends the peer's segments to (127.0.0.1). */
  readonly peerPort: number;
  /** LTP max segment size on the span, in bytes. */
  readonly segmentBytes: number;
  /** Aggregation size threshold of the span: ION puts bundles together in one block up to it. */
  readonly aggregationBytes: number;
  /** Aggregation time limit of the span, in seconds. */
  readonly aggregationSeconds: number;
}

/** The rc files of one ION node (file name -> text), as ionstart would take them. */
export function ionConfigFiles(s: IonNodeSpec): Record<string, string> {
  const contacts = [
    [s.node, s.peer],
    [s.peer, s.node],
  ];
  return {
    // SDR in DRAM only (configFlags 1), so nothing is left on disk but the log; a heap of
    // 16 MiB (words of 8 bytes) holds a window of 64 KiB blocks.
    'node.ionconfig': ['configFlags 1', 'wmSize 16000000', 'heapWords 2000000', `pathName ${s.dir}`, ''].join('\n'),
    // LTP transmits only while ION's contact plan says the span is up: one day of contact both
    // ways at 100 MB/s (no rate limit on loopback), one second of light time.
    'node.ionrc': [
      `1 ${s.node} node.ionconfig`,
      's',
      'm horizon +0',
      ...contacts.map(([a, b]) => `a contact +0 +86400 ${a} ${b} 100000000`),
      ...contacts.map(([a, b]) => `a range +0 +86400 ${a} ${b} 1`),
      '',
    ].join('\n'),
    'node.ionsecrc': '1\n',
    'node.ltprc': [
      '1 32',
      `a span ${s.peer} 16 16 ${s.segmentBytes} ${s.aggregationBytes} ${s.aggregationSeconds} 'udplso 127.0.0.1:${s.peerPort}'`,
      'm screening n',
      `s 'udplsi 127.0.0.1:${s.ltpPort}'`,
      '',
    ].join('\n'),
    'node.bprc': [
      '1',
      "a scheme ipn 'ipnfw' 'ipnadminep'",
      ...[0, 1, 2].map((service) => `a endpoint ipn:${s.node}.${service} q`),
      'a protocol ltp',
      `a induct ltp ${s.node} ltpcli`,
      `a outduct ltp ${s.peer} ltpclo`,
      "r 'ipnadmin node.ipnrc'",
      's',
      '',
    ].join('\n'),
    // A duct serves one plan, so nodes behind the peer are reached through an exit to it.
    'node.ipnrc': [`a plan ${s.peer} ltp/${s.peer}`, ...(s.via ?? []).map((n) => `a exit ${n} ${n} ipn:${s.peer}.0`), ''].join('\n'),
  };
}

/** Ids of the System V shared memory segments on this machine (`ipcs -m`). */
async function sharedMemoryIds(): Promise<Set<string>> {
  const { stdout } = await run('ipcs', ['-m']);
  return new Set(stdout.split('\n').map((line) => line.trim().split(/\s+/)).filter((f) => /^0x[0-9a-f]+$/i.test(f[0] ?? '')).map((f) => f[1]!));
}

export class IonNode {
  /** Shared memory that was there before this node started: never this node's to remove. */
  private before = new Set<string>();

  constructor(readonly spec: IonNodeSpec) {}

  get env(): NodeJS.ProcessEnv {
    const { prefix } = this.spec;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
      LD_LIBRARY_PATH: `${join(prefix, 'lib')}:${process.env.LD_LIBRARY_PATH ?? ''}`,
    };
    delete env.ION_NODE_LIST_DIR; // one node on this machine: ION's default shared memory key
    return env;
  }

  /**
   * Runs one ION program in the node's folder until it exits; resolves with what it printed. The
   * admin programs start daemons that inherit their output, so the output goes to a file (a pipe
   * would stay open as long as the daemons run) and the end is the program's exit.
   */
  async exec(program: string, args: string[], timeoutMs = 60_000): Promise<string> {
    const file = join(this.spec.dir, `${program}.out`);
    const fd = openSync(file, 'w');
    try {
      const child = spawn(join(this.spec.prefix, 'bin', program), args, { cwd: this.spec.dir, env: this.env, stdio: ['ignore', fd, fd] });
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGTERM');
          reject(new Error(`ION ${program} ${args.join(' ')} still running after ${timeoutMs} ms`));
        }, timeoutMs);
        child.on('error', reject);
        child.on('exit', (exit) => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
      const output = readFileSync(file, 'utf8');
      if (code !== 0) throw new Error(`ION ${program} ${args.join(' ')} exited ${code}:\n${output}`);
      return output;
    } finally {
      closeSync(fd);
    }
  }

  /** Writes the rc files and starts the node as ionstart does (ion, security, LTP, then BP). */
  async start(): Promise<void> {
    this.before = await sharedMemoryIds();
    for (const [name, text] of Object.entries(ionConfigFiles(this.spec))) writeFileSync(join(this.spec.dir, name), text);
    for (const [admin, rc] of [['ionadmin', 'node.ionrc'], ['ionsecadmin', 'node.ionsecrc'], ['ltpadmin', 'node.ltprc'], ['bpadmin', 'node.bprc']] as const) {
      // The admin programs exit 0 even when a command failed; ION's errors read "at line N of ...".
      const output = await this.exec(admin, [rc]);
      if (/^at line \d+ of /m.test(output)) throw new Error(`ION ${admin} ${rc} failed:\n${output}`);
    }
  }

  /**
   * Stops BP, LTP and ION in the reverse order (each admin program waits for its daemons), then
   * removes the shared memory this node made: ION leaves it behind, and a later node with another
   * working folder refuses it ("Wrong profile for this SDR").
   */
  async stop(): Promise<void> {
    for (const admin of ['bpadmin', 'ltpadmin', 'ionadmin']) {
      try {
        await this.exec(admin, ['.']);
      } catch {
        // Stopping a part that never started fails; the next part must still be stopped.
      }
    }
    const ours = [...(await sharedMemoryIds())].filter((id) => !this.before.has(id));
    if (ours.length > 0) await run('ipcrm', ours.flatMap((id) => ['-m', id]));
  }

  /** ION's log so far (ion.log in the node's folder). */
  log(): string {
    const file = join(this.spec.dir, 'ion.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Files bprecvfile wrote in `dir` (testfile1, testfile2, ...), in order. */
  receivedFiles(dir: string): Uint8Array[] {
    return readdirSync(dir)
      .filter((name) => /^testfile\d+$/.test(name))
      .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
      .map((name) => readFileSync(join(dir, name)));
  }
}
