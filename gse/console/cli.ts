// `tern gse console`: the operator's web console. Exit codes as the other gse tools: 0 stopped
// by a signal; 2 refused to start (bad option, unreadable key, dictionary or archive, an address
// other than loopback without TLS and a users file, a port in use).
import { isIP } from 'node:net';
import { createInterface } from 'node:readline';
import type { TcpclTls } from '../../flight/cla/tcpcl-tls.js';
import { parseOptions } from '../../flight/cli-args.js';
import { readKeyFile } from '../../flight/cmd/keyfile.js';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { TernError } from '../../flight/errors.js';
import { createRootLogger, subsystemLogger } from '../../flight/log.js';
import { watchSupervisor } from '../../flight/main.js';
import { CertsError, readNodeTls } from '../certs.js';
import { loadDictionary } from '../dictionary.js';
import { GROUND_NODE, parseAddress, type Address } from '../transport.js';
import { hashPassword, readUsers } from './auth.js';
import { GroundConsole } from './console.js';
import { ContactsView } from './timeline.js';

export const CONSOLE_USAGE = `usage: tern gse console [--listen HOST:PORT] [--dtn HOST:PORT] [--node N] [--archive DIR]
                       [--retention-days D] [--key FILE] [--via HOST:PORT] [--cla tcp|udp]
                       [--dict FILE | --from DATA_DIR] [--tls-cert FILE --tls-key FILE --users FILE] [--dtn-tls DIR]
                       [--plan FILE [--plan-epoch ISO|MS|mission-start] [--time-scale S] [--ground N,...]]
       tern gse console --hash-password     (reads a password on stdin, prints a users-file hash)

Serves the ground console page at --listen (default 127.0.0.1:8080) and joins the ground network
as ground node N (default 100) on TCPCLv4 and UDP at --dtn (default 127.0.0.1:4700), archiving
every record in DIR/archive.sqlite (default var/console, kept --retention-days, default 30).
Open the login link it prints. With --key (your operator key, on this machine) the page signs
and sends commands through the ground station at --via; without it, it sends only envelopes
signed elsewhere. Any --listen address other than loopback needs --tls-cert, --tls-key and
--users (a JSON list of { "name", "password" } with hashes from --hash-password).
With --dtn-tls DIR (a directory tern gse certs made: ca.crt, node-N.key, node-N.crt for --node N)
the ground network runs TCPCLv4 inside TLS 1.3, and a station that does not offer it is refused.
With --plan (the mission's contact plan, any format) the Contacts page draws it on the nodes'
clock: plan time 0 is --plan-epoch, else the mission start tern mission gives its processes,
else the plan's own epoch; --time-scale as the nodes' contactPlan.timeScale (default 1). Links with
the console's node, with a node the plan connects to it, or with a --ground node are ground links.

example:
  tern gse console --listen 127.0.0.1:8080 --archive var/console`;

class ConsoleUsage extends TernError {
  readonly code = 'GSE_CONSOLE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'ConsoleUsage';
  }
}

/** An address to listen on; port 0 takes any free port (tests, or a console beside another). */
function listenAddress(option: string, text: string): Address {
  const anyPort = text.endsWith(':0');
  const address = parseAddress(option, anyPort ? `${text.slice(0, -2)}:1` : text);
  return anyPort ? { host: address.host, port: 0 } : address;
}

/** --dtn-tls DIR: node `node`'s key and certificate and the mission CA, as tern gse certs lays them out. */
function dtnTls(dir: string, node: number): TcpclTls {
  try {
    return readNodeTls(dir, node);
  } catch (error) {
    if (error instanceof CertsError) throw new ConsoleUsage(`--dtn-tls ${dir}: ${error.message}`);
    throw error;
  }
}

const isLoopback = (host: string): boolean => host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

async function printHash(): Promise<number> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === '') throw new ConsoleUsage('an empty password');
    console.log(hashPassword(line));
    return 0;
  }
  throw new ConsoleUsage('no password on stdin');
}

export async function runConsole(argv: string[]): Promise<number> {
  try {
    return await consoleMain(argv);
  } catch (error) {
    // Refusals (options, key, dictionary, archive, address) are one line and exit 2, here and
    // not in a caller's wrapper: a console that cannot start must say why plainly.
    if (!(error instanceof TernError)) throw error;
    process.stderr.write(`tern gse console: ${(error as Error).message}\n`);
    return 2;
  }
}

async function consoleMain(argv: string[]): Promise<number> {
  const { values } = parseOptions('tern gse console', {
    listen: { type: 'string', default: '127.0.0.1:8080' }, dtn: { type: 'string', default: '127.0.0.1:4700' },
    node: { type: 'string' }, archive: { type: 'string', default: 'var/console' }, 'retention-days': { type: 'string' },
    key: { type: 'string' }, via: { type: 'string' }, cla: { type: 'string' }, dict: { type: 'string' }, from: { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, users: { type: 'string' }, 'dtn-tls': { type: 'string' },
    'hash-password': { type: 'boolean' }, help: { type: 'boolean' },
    plan: { type: 'string' }, 'plan-epoch': { type: 'string' }, 'time-scale': { type: 'string' }, ground: { type: 'string' },
  }, argv);
  if (values.help) {
    console.log(CONSOLE_USAGE);
    return 0;
  }
  if (values['hash-password']) return printHash();
  const listen = listenAddress('--listen', values.listen);
  const tlsGiven = [values['tls-cert'], values['tls-key']].filter((v) => v !== undefined).length;
  if (tlsGiven === 1) throw new ConsoleUsage('give both --tls-cert and --tls-key');
  if (!isLoopback(listen.host) && (tlsGiven !== 2 || values.users === undefined)) {
    throw new ConsoleUsage(`--listen ${values.listen} is not a loopback address: the console then needs TLS (--tls-cert, --tls-key) and a login (--users FILE)`);
  }
  const node = values.node === undefined ? GROUND_NODE : Number(values.node);
  if (!Number.isSafeInteger(node) || node < 1) throw new ConsoleUsage(`--node must be a node number, got ${JSON.stringify(values.node)}`);
  const retentionDays = values['retention-days'] === undefined ? undefined : Number(values['retention-days']);
  if (retentionDays !== undefined && !(retentionDays > 0 && retentionDays <= 36500)) throw new ConsoleUsage('--retention-days must be a number of days in (0, 36500]');
  if (values.cla !== undefined && values.cla !== 'tcp' && values.cla !== 'udp') throw new ConsoleUsage(`--cla must be tcp or udp, got ${JSON.stringify(values.cla)}`);
  if (values.key !== undefined && values.via === undefined) throw new ConsoleUsage('--key signs commands for the ground station at --via HOST:PORT: give it too');
  if (values.plan === undefined && (values['plan-epoch'] ?? values['time-scale'] ?? values.ground) !== undefined) throw new ConsoleUsage('--plan-epoch, --time-scale and --ground place a contact plan: give --plan FILE too');
  const contacts = values.plan === undefined ? undefined : ContactsView.load({
    file: values.plan, consoleNode: node, ...(values['plan-epoch'] === undefined ? {} : { epoch: values['plan-epoch'] }),
    ...(values['time-scale'] === undefined ? {} : { timeScale: values['time-scale'] }),
    ...(values.ground === undefined ? {} : { ground: values.ground }),
  });
  const dsa = mlDsa('ML-DSA-65');
  const key = values.key === undefined ? undefined : readKeyFile(values.key, dsa);
  const log = subsystemLogger(createRootLogger(), 'console');
  const console_ = await GroundConsole.start({
    listen, dtn: listenAddress('--dtn', values.dtn), node, archiveDir: values.archive, dictionary: loadDictionary(values), dsa, log,
    print: (line) => process.stdout.write(`${line}\n`),
    ...(retentionDays === undefined ? {} : { archive: { retentionDays } }),
    ...(key ? { signer: { operator: key.id, name: key.name, seed: key.seed, publicKey: key.publicKey, file: values.key! } } : {}),
    ...(values.via === undefined ? {} : { via: parseAddress('--via', values.via) }),
    ...(values.cla === undefined ? {} : { cla: values.cla as 'tcp' | 'udp' }),
    ...(tlsGiven === 2 ? { tls: { cert: values['tls-cert']!, key: values['tls-key']! } } : {}),
    ...(values.users === undefined ? {} : { users: readUsers(values.users) }),
    ...(contacts ? { contacts } : {}),
    ...(values['dtn-tls'] === undefined ? {} : { dtnTls: dtnTls(values['dtn-tls'], node) }),
  }).catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new ConsoleUsage(`cannot listen: ${(error as Error).message}`);
    throw error;
  });
  log.info({ url: console_.url, archive: console_.archive.file, ground: node, dtnPort: console_.dtnPort, operator: key ? key.id : null }, 'console listening');
  // The login link carries the session secret: the operator's terminal only, not the log.
  process.stderr.write(`tern gse console: open ${console_.loginUrl}\n`);
  let orphaned: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    orphaned = watchSupervisor(resolve);
  });
  clearInterval(orphaned);
  await console_.close();
  log.info('console stopped');
  return 0;
}
