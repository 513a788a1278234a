// `tern mission --dir DIR`: runs a whole local mission on one machine: every flight node the
// mission file lists, each as its own `tern flight` process, and the ground console. A person
// sees the live view of mission-view.ts while each process's NDJSON goes whole to its log file
// under the mission's data directory; --raw puts those lines on stdout as they come instead.
// SIGINT or SIGTERM stops them all in order; the exit code is 0 only if every process stopped
// cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandSpec, type OptionSpecs } from '../flight/cli-args.js';
import { Fields, readJsonFile } from '../flight/config/fields.js';
import { TernError } from '../flight/errors.js';
import { SUPERVISOR_ENV } from '../flight/main.js';
import { MISSION_EPOCH_ENV } from '../flight/route/config.js';
import { certFilesIn, CertsError, makeCa, makeNodeCert } from './certs.js';
import { MissionView } from './mission-view.js';

const MISSION = {
  name: 'tern mission',
  summary: 'Runs the mission of DIR/mission.json: its flight nodes and its ground console, until SIGINT or SIGTERM.',
  usage: ['[--dir DIR] [--raw]'],
  options: {
    dir: { type: 'string', arg: 'DIR', doc: 'the mission directory', default: 'flight/config/missions/constellation' },
    raw: { type: 'boolean', doc: 'every process\'s NDJSON lines on stdout, as they come, instead of the live view' },
  },
  notes: `In a terminal, a live view shows each node (mode, health, links, plan contacts open,
bundles queued for a contact and pending, bundles, commands, events; contacts starting and
ending among them) and the console's records; every process's full NDJSON log goes to DATA/logs/ (the view names
the files). Not a terminal: the same view as plain lines. Secret keys in DIR/keys (*.key) are
made owner-only first: git keeps no file modes. TLS certificates the nodes' cla.tcp.tls and the
console's "tls" directory name, if missing, are made first (a mission CA and one per node, with
openssl, as tern gse certs): throwaway, in the mission's certs/ directory, which git ignores.`,
  examples: ['tern mission', 'tern mission --dir flight/config/missions/local --raw | grep PING'],
} as const satisfies CommandSpec<OptionSpecs>;

interface MissionFile {
  nodes: string[];
  /** The ground console: its ground node and address, its page, the operator key it signs with and the station it sends through. */
  console?: { listen: string; node: number; web?: string; key?: string; via?: string; plan?: ConsolePlan; tls?: string };
}

/** The contact plan the console's Contacts page draws: the nodes' plan file (DIR-relative), their time scale, the ground stations. */
interface ConsolePlan { file: string; timeScale: number; ground: number[] }

const TERN = fileURLToPath(new URL('./tern.js', import.meta.url));
/** Every process of one mission shares this time origin (a contact plan's "epoch": "mission-start"). */
const MISSION_EPOCH_MS = String(Date.now());

function readMission(dir: string): MissionFile {
  const file = join(dir, 'mission.json');
  const f = new Fields(file);
  const top = f.object(readJsonFile(file, 'mission file'), '', ['nodes', 'console']);
  const nodes = f.array(top.nodes, 'nodes').map((n, i) => f.string(n, `nodes[${i}]`));
  if (top.console === undefined) return { nodes };
  const c = f.object(top.console, 'console', ['listen', 'node', 'web', 'key', 'via', 'plan', 'tls']);
  const optional = (name: 'web' | 'key' | 'via' | 'tls') => (c[name] === undefined ? {} : { [name]: f.string(c[name], `console.${name}`) });
  const plan = (): { plan?: ConsolePlan } => {
    if (c.plan === undefined) return {};
    const p = f.object(c.plan, 'console.plan', ['file', 'timeScale', 'ground']);
    return {
      plan: {
        file: f.string(p.file, 'console.plan.file'),
        timeScale: f.number(p.timeScale ?? 1, 'console.plan.timeScale', 1e-6, 1e6),
        ground: p.ground === undefined ? [] : f.array(p.ground, 'console.plan.ground').map((n, i) => f.integer(n, `console.plan.ground[${i}]`, 1)),
      },
    };
  };
  return { nodes, console: { listen: f.string(c.listen, 'console.listen'), node: f.integer(c.node, 'console.node', 1), ...optional('web'), ...optional('key'), ...optional('via'), ...optional('tls'), ...plan() } };
}

/**
 * Makes the mission's secret keys (DIR/keys/*.key) owner-only. The key reader refuses a secret
 * key others can read, and git keeps no file modes, so a fresh clone's demo keys need this once.
 */
function ownerOnlyKeys(dir: string): void {
  const keys = join(dir, 'keys');
  if (!existsSync(keys)) return;
  for (const name of readdirSync(keys).filter((n) => n.endsWith('.key'))) {
    const file = join(keys, name);
    if ((statSync(file).mode & 0o077) === 0) continue;
    chmodSync(file, 0o600);
    process.stderr.write(`tern mission: ${file} made owner-only (mode 0600)\n`);
  }
}

/** Where a process's lines go: the raw stream (--raw), or its log file and the live view. */
interface Output {
  stdout(line: string): void;
  stderr(line: string): void;
  exited(code: number | string): void;
}

function rawOutput(name: string): Output {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${name}: ${line}\n`),
    exited: (code) => {
      if (code !== 0) process.stderr.write(`tern mission: ${name} exited with ${code}\n`);
    },
  };
}

/** The whole NDJSON stream to its log file (stderr lines wrapped as {"stderr": line}), and to the view. */
function viewOutput(name: string, nodeId: number | undefined, log: WriteStream, view: MissionView): Output {
  return {
    stdout: (line) => {
      log.write(`${line}\n`);
      view.stdout(name, line);
    },
    stderr: (line) => {
      log.write(`${JSON.stringify({ stderr: line })}\n`);
      view.stderr(name, line);
    },
    exited: (code) => view.exited(nodeId, name, code),
  };
}

function run(args: string[], output: Output): { child: ChildProcess; exited: Promise<number> } {
  // Each in its own process group: a Ctrl-C at the terminal reaches only this launcher, which
  // then stops every process in order (a second signal could cut a stop short).
  const child = spawn(process.execPath, [TERN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    env: { ...process.env, [MISSION_EPOCH_ENV]: MISSION_EPOCH_MS, [SUPERVISOR_ENV]: String(process.pid) },
  });
  createInterface({ input: child.stdout! }).on('line', (line) => output.stdout(line));
  createInterface({ input: child.stderr! }).on('line', (line) => output.stderr(line));
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      output.exited(code ?? signal ?? 'unknown');
      resolve(code ?? 1);
    }),
  );
  return { child, exited };
}

/** The TLS files a node config names (cla.tcp.tls), resolved as the node resolves them. */
interface NodeTls { key: string; certificate: string; trustedCas: string }

/** A node config as far as the launcher needs it: id and name for the view, data directory for the logs, TLS files to make. */
function nodeOf(file: string): { id: number; name: string; dataDir: string; tls?: NodeTls } {
  const f = new Fields(file);
  const top = f.object(readJsonFile(file, 'mission config file'), '');
  const node = f.object(top.node, 'node');
  const id = f.integer(node.id, 'node.id', 1);
  const tls = (): { tls?: NodeTls } => {
    const raw = (top.cla as { tcp?: { tls?: Record<string, unknown> } } | undefined)?.tcp?.tls;
    if (raw === undefined) return {};
    // Relative to the config file, as the node's reader takes them (flight/cla/tcpcl-tls.ts).
    const path = (name: keyof NodeTls) => resolve(dirname(file), f.string(raw[name], `cla.tcp.tls.${name}`));
    return { tls: { key: path('key'), certificate: path('certificate'), trustedCas: path('trustedCas') } };
  };
  return {
    id,
    name: node.name === undefined ? `tern-${id}` : f.string(node.name, 'node.name'),
    dataDir: resolve(top.dataDir === undefined ? `var/node-${id}` : f.string(top.dataDir, 'dataDir')),
    ...tls(),
  };
}

/**
 * Makes what is missing of the mission's TLS certificates: a mission CA in the directory of the
 * trusted CA file, and each node's key and certificate (`URI:ipn:N.0`) beside it, as tern gse
 * certs lays them out. They are throwaway: a fresh clone makes its own on first start. A new
 * directory is made whole under a temporary name and renamed into place, so two launchers (or
 * tests) starting at once never mix two CAs. Files a config names elsewhere must already exist.
 */
export function ensureMissionCerts(wanted: ReadonlyArray<{ id: number; tls: NodeTls }>, log: (line: string) => void = () => undefined): void {
  const missing = wanted.filter(({ tls }) => ![tls.key, tls.certificate, tls.trustedCas].every((file) => existsSync(file)));
  for (const { id, tls } of missing) {
    const files = certFilesIn(dirname(tls.trustedCas), id);
    if (basename(tls.trustedCas) !== 'ca.crt' || tls.key !== files.node.key || tls.certificate !== files.node.cert) {
      throw new CertsError(`node ${id}: cannot make its TLS files ${tls.key}, ${tls.certificate}, ${tls.trustedCas}: `
        + `tern mission makes DIR/ca.crt and DIR/node-${id}.key, DIR/node-${id}.crt`);
    }
  }
  const byDir = new Map<string, number[]>();
  for (const { id, tls } of missing) byDir.set(dirname(tls.trustedCas), [...(byDir.get(dirname(tls.trustedCas)) ?? []), id]);
  for (const [dir, ids] of byDir) {
    const name = `Tern mission CA (${basename(dirname(dir))})`;
    if (!existsSync(dir)) {
      const temporary = `${dir}.tmp-${process.pid}-${Date.now()}`;
      try {
        const ca = makeCa(temporary, name);
        for (const id of ids) makeNodeCert(temporary, ca, id);
        renameSync(temporary, dir);
        log(`mission CA and certificates for nodes ${ids.join(', ')} made in ${dir}`);
        continue;
      } catch (error) {
        rmSync(temporary, { recursive: true, force: true });
        // Another launcher made the directory first: its CA is the mission's.
        if (!['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
    }
    const { ca } = certFilesIn(dir, 0);
    if (!existsSync(ca.cert)) makeCa(dir, name);
    for (const id of ids) {
      const { node } = certFilesIn(dir, id);
      if (!existsSync(node.key) || !existsSync(node.cert)) makeNodeCert(dir, ca, id);
    }
    log(`certificates for nodes ${ids.join(', ')} made in ${dir}`);
  }
}

/** ensureMissionCerts for the mission in `dir`: every node config's cla.tcp.tls and the console's "tls" directory. */
export function ensureMissionDirCerts(dir: string, log?: (line: string) => void): void {
  const mission = readMission(dir);
  const nodes = mission.nodes.map((file) => nodeOf(join(dir, file)));
  missionCerts(dir, mission, nodes, log);
}

function missionCerts(dir: string, mission: MissionFile, nodes: ReadonlyArray<{ id: number; tls?: NodeTls }>, log?: (line: string) => void): void {
  const c = mission.console;
  const consoleTls = c?.tls === undefined ? [] : [{ id: c.node, tls: certPaths(resolve(dir, c.tls), c.node) }];
  ensureMissionCerts([...nodes.flatMap((n) => (n.tls ? [{ id: n.id, tls: n.tls }] : [])), ...consoleTls], log);
}

/** Node `node`'s TLS files in directory `dir` (the console's "tls": a directory tern gse certs lays out). */
function certPaths(dir: string, node: number): NodeTls {
  const files = certFilesIn(dir, node);
  return { key: files.node.key, certificate: files.node.cert, trustedCas: files.ca.cert };
}

/** The deepest directory holding every node's data directory: the mission's (var/mission for the local one). */
function commonDir(paths: readonly string[]): string {
  const parts = paths.map((p) => dirname(p).split(sep));
  const first = parts[0] ?? process.cwd().split(sep);
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

export function runMission(argv: string[]): Promise<number> {
  return runCommand(MISSION, argv, (values) => mission(values.dir, values.raw === true));
}

async function mission(dir: string, raw: boolean): Promise<number> {
  let mission: MissionFile;
  try {
    mission = readMission(dir);
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    console.error(`tern mission: ${error.message}`);
    return 2;
  }
  ownerOnlyKeys(dir);
  let nodes;
  try {
    nodes = mission.nodes.map((file) => ({ file, ...nodeOf(join(dir, file)) }));
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    console.error(`tern mission: ${error.message}`);
    return 2;
  }
  try {
    missionCerts(dir, mission, nodes, (line) => process.stderr.write(`tern mission: ${line}\n`));
  } catch (error) {
    if (!(error instanceof CertsError)) throw error;
    console.error(`tern mission: TLS certificates: ${error.message}`);
    return 1;
  }
  const missionData = commonDir(nodes.map((n) => n.dataDir));
  const logDir = join(missionData, 'logs');
  const logs: WriteStream[] = [];
  const view = raw ? undefined : new MissionView({
    nodes: nodes.map((n) => ({ id: n.id, name: n.name })),
    logDir,
    tty: process.stdout.isTTY === true,
    write: (text) => process.stdout.write(text),
    columns: () => process.stdout.columns,
    rows: () => process.stdout.rows,
  });
  const output = (name: string, nodeId?: number): Output => {
    if (!view) return rawOutput(name);
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${name}.ndjson`), { flags: 'w' });
    logs.push(log);
    return viewOutput(name, nodeId, log, view);
  };
  view?.start();
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const processes = nodes.map((n) => run(['flight', '--config', join(dir, n.file)], output(n.file.replace(/\.json$/, ''), n.id)));
  if (mission.console) {
    // The web console (gse/console): it prints the link to open on its stderr ("console: ... open URL").
    const c = mission.console;
    processes.push(run([
      'gse', 'console', '--dtn', c.listen, '--node', String(c.node), '--archive', join(missionData, 'console'),
      ...(c.web ? ['--listen', c.web] : []), ...(c.key ? ['--key', join(dir, c.key)] : []), ...(c.via ? ['--via', c.via] : []),
      // The plan's epoch is the mission start every process shares (TERN_MISSION_EPOCH_MS).
      ...(c.tls ? ['--dtn-tls', join(dir, c.tls)] : []),
      ...(c.plan ? ['--plan', join(dir, c.plan.file), '--time-scale', String(c.plan.timeScale), ...(c.plan.ground.length > 0 ? ['--ground', c.plan.ground.join(',')] : [])] : []),
    ], output('console')));
  }
  // A process that dies on its own ends the mission too: a partial constellation misleads.
  await Promise.race([stopped, ...processes.map((p) => p.exited)]);
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const codes = await Promise.all(processes.map((p) => p.exited));
  view?.stop();
  await Promise.all(logs.map((log) => new Promise((resolve) => log.end(resolve))));
  return codes.every((c) => c === 0) ? 0 : 1;
}
