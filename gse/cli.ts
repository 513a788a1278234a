// `tern gse`: the operator's ground tools.
//   tern gse keygen --out FILE --id N [--name NAME] [--force]
//   tern gse send NODE COMMAND [ARGS...] --key FILE [--key FILE ...] [--dict FILE | --from DATA_DIR]
//                 [--seq N] [--expires SECONDS] (--via HOST:PORT [--cla tcp|udp] [--ground N] | --out FILE|-)
//   tern gse send --envelope FILE --via HOST:PORT [--cla tcp|udp] [--ground N] [--dict FILE | --from DATA_DIR]
//   tern gse cosign FILE --key FILE [--key FILE ...] [--pub FILE.pub.json ...] [--dict FILE | --from DATA_DIR] [--out FILE2]
//   tern gse tlm [FILE|-] [--dict FILE | --from DATA_DIR] [--json]
//   tern gse tlm --listen HOST:PORT [--node N] [--count N] [--timeout SECONDS]
//   tern gse dict [--out FILE] [--from DATA_DIR] [--list]
// A critical command needs k operators' signatures, and each operator's key stays on their own
// machine: the first makes the envelope with `send --out`, the others add theirs with `cosign`
// (each is shown what they approve first), and any of them sends the file with `send --envelope`.
// Exit codes: 0 done; 2 refused (bad input, unreadable key or dictionary, no transport): nothing
// was sent or written. Anything else is a bug and crashes with its stack.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TernError } from '../flight/errors.js';
import { writeFileDurable } from '../flight/durable.js';
import { argArray, checkArgs, type ArgSpec, type ArgValue, type ArgValues } from '../flight/cmd/args.js';
import type { CommandDef } from '../flight/cmd/commands.js';
import {
  bodyDigest, commandContext, cosignEnvelope, decodeEnvelope, encodeBody, hexId, keyId, signEnvelope,
  type CommandBody, type Envelope,
} from '../flight/cmd/envelope.js';
import { MalformedEnvelope } from '../flight/cmd/errors.js';
import { dictionaryJson, type Dictionary } from '../flight/cmd/export.js';
import { readKeyFile, readPublicKeyFile, writeKeyFiles } from '../flight/cmd/keyfile.js';
import { mlDsa, ML_DSA_SEED_BYTES } from '../flight/cmd/mldsa.js';
import { findCommand, parseArgs as parseCommandArgs } from './command-args.js';
import { loadDictionary } from './dictionary.js';
import { printDownlink } from './tlm.js';
import { GROUND_NODE, listenAsGround, parseAddress, transmit, type Address } from './transport.js';

const USAGE = `usage:
  tern gse keygen --out FILE --id N [--name NAME] [--force]
  tern gse send NODE COMMAND [ARGS...] --key FILE [--key FILE ...] [--dict FILE | --from DATA_DIR]
                [--seq N] [--expires SECONDS] (--via HOST:PORT [--cla tcp|udp] [--ground N] | --out FILE|-)
  tern gse send --envelope FILE --via HOST:PORT [--cla tcp|udp] [--ground N] [--dict FILE | --from DATA_DIR]
  tern gse cosign FILE --key FILE [--key FILE ...] [--pub FILE.pub.json ...] [--dict FILE | --from DATA_DIR] [--out FILE2]
  tern gse tlm [FILE|-] [--dict FILE | --from DATA_DIR] [--json]
  tern gse tlm --listen HOST:PORT [--node N] [--count N] [--timeout SECONDS]
  tern gse dict [--out FILE] [--from DATA_DIR] [--list]
  tern gse console [--listen HOST:PORT] [--archive DIR] [--key FILE --via HOST:PORT] ...  (console --help)
  tern gse export [--archive DIR] [--from TIME] [--to TIME] (--channel NAME ... | --events | --commands | --responses)

send --via hands the command bundle to the ground-station node at HOST:PORT (TCPCLv4 unless
--cla udp), as ground node N (default 100). tlm --listen is the ground console: ground node N
on TCPCLv4 and UDP at HOST:PORT, one JSON line per record received (responses, events,
housekeeping); --count ends it after that many records, --timeout after that many seconds
(exit 1 if --count was not reached).
cosign adds a signature by each --key to an envelope made by send --out (k-of-n approval by
operators on different machines), after printing what it commands; it writes FILE in place
unless --out FILE2. --pub checks the signatures already there of those operators. send
--envelope sends such a file as it is.`;

/** Bad operator input: reported in one line, exit code 2. */
class UsageError extends TernError {
  readonly code = 'GSE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function integer(text: string | undefined, what: string, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean' } } });
  if (!values.out) throw new UsageError('--out FILE is required');
  const id = integer(values.id, '--id', 1, 0xffff_ffff);
  if (!values.force && (existsSync(values.out) || existsSync(`${values.out}.pub.json`))) {
    throw new UsageError(`${values.out} exists; refusing to overwrite a key (--force to replace it)`);
  }
  const seed = new Uint8Array(randomBytes(ML_DSA_SEED_BYTES));
  const dsa = mlDsa('ML-DSA-65');
  const files = writeKeyFiles(values.out, { id, name: values.name ?? `operator-${id}`, seed, publicKey: dsa.publicKey(seed) });
  console.log(`ML-DSA-65 key for operator ${id}: secret ${files.secret} (mode 0600), public ${files.public}`);
  return 0;
}

/** The next sequence number of the originator, stored beside its key and advanced before sending. */
function nextSeq(keyFile: string, given: string | undefined): number {
  const counter = `${keyFile}.seq`;
  const last = existsSync(counter) ? integer(readFileSync(counter, 'utf8').trim(), counter, 0, Number.MAX_SAFE_INTEGER) : 0;
  const seq = given === undefined ? last + 1 : integer(given, '--seq', 1, Number.MAX_SAFE_INTEGER);
  // Persisted before the envelope leaves: a number is never used twice, even if sending fails.
  if (seq > last) writeFileDurable(counter, `${seq}\n`);
  return seq;
}

const opcodeText = (opcode: number): string => `0x${opcode.toString(16).padStart(4, '0')}`;

interface TransportValues {
  via?: string;
  cla?: string;
  ground?: string;
}

function transportOptions(values: TransportValues): { via?: Address; cla?: 'tcp' | 'udp'; ground: number } {
  const via = values.via === undefined ? undefined : parseAddress('--via', values.via);
  if (values.cla !== undefined && values.cla !== 'tcp' && values.cla !== 'udp') throw new UsageError(`--cla must be tcp or udp, got ${JSON.stringify(values.cla)}`);
  const cla = values.cla as 'tcp' | 'udp' | undefined;
  const ground = values.ground === undefined ? GROUND_NODE : integer(values.ground, '--ground', 1, Number.MAX_SAFE_INTEGER);
  return { ground, ...(via ? { via } : {}), ...(cla ? { cla } : {}) };
}

/** The operator's record of what left: one line naming the command by its body digest. */
function sentLine(command: CommandDef, envelope: Envelope, bytes: number): string {
  const { body } = envelope;
  return `sent ${command.name} (${opcodeText(command.opcode)}) to node ${body.target}: operator ${body.operator} seq ${body.seq}, ` +
    `${envelope.signatures.length} signature(s), expires ${new Date(body.expiryMs).toISOString()}, digest ${bodyDigest(envelope.bodyBytes).slice(0, 16)}, ${bytes} bytes`;
}

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string', multiple: true }, dict: { type: 'string' }, from: { type: 'string' },
      seq: { type: 'string' }, expires: { type: 'string' }, out: { type: 'string' },
      via: { type: 'string' }, cla: { type: 'string' }, ground: { type: 'string' }, envelope: { type: 'string' },
    },
  });
  if (values.envelope !== undefined) return sendEnvelope(values.envelope, values, positionals);
  const [nodeText, commandText, ...words] = positionals;
  const node = integer(nodeText, 'NODE', 1, Number.MAX_SAFE_INTEGER);
  if (commandText === undefined) throw new UsageError('COMMAND is missing');
  const dictionary = loadDictionary(values);
  const command = findCommand(dictionary, commandText);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(commandText)} (tern gse dict --list shows the dictionary ${dictionary.hash})`);
  const args = parseCommandArgs(command, words, dictionary);
  const keyFiles = values.key ?? [];
  if (keyFiles.length === 0) throw new UsageError('at least one --key FILE is required: every command is signed');
  if (values.out !== undefined && values.via !== undefined) throw new UsageError('give one of --via and --out');
  const transport = transportOptions(values);
  if (!transport.via && values.out === undefined) throw new UsageError('give --via HOST:PORT (a ground-station node) or --out FILE (- for stdout)');
  const dsa = mlDsa('ML-DSA-65');
  const signers = keyFiles.map((file) => {
    const key = readKeyFile(file, dsa);
    return { operator: key.id, seed: key.seed, publicKey: key.publicKey };
  });
  if (new Set(signers.map((s) => s.operator)).size !== signers.length) throw new UsageError('two --key files are the same operator');
  const expiresS = values.expires === undefined ? 600 : integer(values.expires, '--expires', 1, 7 * 86400);
  const seq = nextSeq(keyFiles[0]!, values.seq);
  const expiryMs = Date.now() + expiresS * 1000;
  const body = encodeBody({ target: node, operator: signers[0]!.operator, seq, expiryMs, opcode: command.opcode, args: argArray(command.args, args) });
  const envelope = signEnvelope(dsa, body, node, signers);
  const where = await transmit(envelope, node, {
    expiryMs,
    from: transport.ground,
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(transport.via ? { via: transport.via } : {}),
    ...(transport.cla ? { cla: transport.cla } : {}),
  });
  const report = values.out === '-' ? console.error : console.log;
  report(sentLine(command, decodeEnvelope(envelope), envelope.length) + (values.out === '-' ? '' : ` -> ${where}`));
  return 0;
}

/** `send --envelope FILE`: a prepared (typically co-signed) envelope goes out byte for byte. */
async function sendEnvelope(file: string, values: TransportValues & { dict?: string; from?: string; key?: string[]; seq?: string; expires?: string; out?: string }, positionals: string[]): Promise<number> {
  const mixed = [
    ...(positionals.length > 0 ? ['NODE COMMAND ARGS'] : []),
    ...(['key', 'seq', 'expires', 'out'] as const).filter((o) => values[o] !== undefined).map((o) => `--${o}`),
  ];
  if (mixed.length > 0) throw new UsageError(`--envelope FILE is sent as it is, its body names the node, command and expiry: drop ${mixed.join(', ')}`);
  const transport = transportOptions(values);
  if (!transport.via) throw new UsageError('--envelope FILE needs --via HOST:PORT (a ground-station node)');
  const prepared = readEnvelopeFile(file, loadDictionary(values));
  const { body } = prepared.envelope;
  refuseExpired(file, body);
  const where = await transmit(prepared.bytes, body.target, { expiryMs: body.expiryMs, from: transport.ground, via: transport.via, ...(transport.cla ? { cla: transport.cla } : {}) });
  console.log(`${sentLine(prepared.command, prepared.envelope, prepared.bytes.length)} -> ${where}`);
  return 0;
}

/** An envelope file checked against the dictionary: what an approver signs or a sender sends. */
interface EnvelopeFile {
  readonly bytes: Uint8Array;
  readonly envelope: Envelope;
  readonly command: CommandDef;
  readonly args: ArgValues;
}

function readEnvelopeFile(file: string, dictionary: Dictionary): EnvelopeFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(bytes);
  } catch (error) {
    if (error instanceof MalformedEnvelope) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const { opcode, args } = envelope.body;
  const command = dictionary.commands.find((c) => c.opcode === opcode);
  if (!command) throw new UsageError(`${file}: opcode ${opcodeText(opcode)} is not in the dictionary ${dictionary.hash} (--dict FILE or --from DATA_DIR for the node's own)`);
  return { bytes, envelope, command, args: checkArgs(command.name, command.args, args) };
}

function refuseExpired(file: string, body: CommandBody, nowMs = Date.now()): void {
  if (body.expiryMs <= nowMs) {
    throw new UsageError(`${file}: the command expired at ${new Date(body.expiryMs).toISOString()} (now ${new Date(nowMs).toISOString()})`);
  }
}

/** An argument as the approver should see it: bytes by what they are, not dumped. */
function showArg(spec: ArgSpec, value: ArgValue): string {
  if (!(value instanceof Uint8Array)) return `${spec.name}=${spec.type === 'string' ? JSON.stringify(value) : value}`;
  if (spec.type === 'bytes' && spec.content === 'ml-dsa-65-public-key') return `${spec.name}=<ML-DSA-65 public key, key id ${hexId(keyId(value))}>`;
  return `${spec.name}=<${value.length} bytes, sha256 ${createHash('sha256').update(value).digest('hex').slice(0, 16)}>`;
}

function describeEnvelope(file: string, { envelope, command, args }: EnvelopeFile, nowMs = Date.now()): string[] {
  const { body } = envelope;
  const critical = command.criticality === 'critical' ? ', critical' : command.criticalWhen ? `, critical when ${command.criticalWhen}` : '';
  return [
    `${file}: ${command.name} (${opcodeText(command.opcode)}) to node ${body.target}${critical}`,
    `  arguments   ${command.args.map((spec) => showArg(spec, args[spec.name]!)).join(' ') || '(none)'}`,
    `  originator  operator ${body.operator} seq ${body.seq}`,
    `  expires     ${new Date(body.expiryMs).toISOString()} (in ${Math.round((body.expiryMs - nowMs) / 1000)} s)`,
    `  digest      ${bodyDigest(envelope.bodyBytes).slice(0, 16)}`,
    `  signed by   ${envelope.signatures.map((s) => `operator ${s.operator} (key id ${hexId(s.keyId)})`).join(', ')}`,
  ];
}

/**
 * `cosign FILE`: adds the signature of each --key, after showing what the command does. The body,
 * and so the originator's sequence number, is not changed: no .seq counter advances here.
 */
async function cosign(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { key: { type: 'string', multiple: true }, pub: { type: 'string', multiple: true }, dict: { type: 'string' }, from: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('give one envelope FILE (tern gse send --out writes one)');
  const file = positionals[0]!;
  const keyFiles = values.key ?? [];
  if (keyFiles.length === 0) throw new UsageError('at least one --key FILE is required: the signature to add');
  const prepared = readEnvelopeFile(file, loadDictionary(values));
  const { envelope, command } = prepared;
  for (const line of describeEnvelope(file, prepared)) console.log(line);
  refuseExpired(file, envelope.body);
  const dsa = mlDsa('ML-DSA-65');
  // Only signatures whose public keys were given can be checked here; the node checks them all.
  const context = commandContext(envelope.body.target);
  for (const pubFile of values.pub ?? []) {
    const key = readPublicKeyFile(pubFile);
    const signature = envelope.signatures.find((s) => s.operator === key.id);
    if (!signature) throw new UsageError(`${pubFile}: operator ${key.id} has not signed ${file}`);
    if (!dsa.verify(key.publicKey, envelope.bodyBytes, signature.signature, context)) {
      throw new UsageError(`${file}: the signature of operator ${key.id} (key id ${hexId(signature.keyId)}) does not verify against ${pubFile} (key id ${hexId(keyId(key.publicKey))})`);
    }
    console.log(`  verified    operator ${key.id} against ${pubFile}`);
  }
  const signers = keyFiles.map((keyFile) => {
    const key = readKeyFile(keyFile, dsa);
    return { operator: key.id, seed: key.seed, publicKey: key.publicKey };
  });
  const bytes = cosignEnvelope(dsa, prepared.bytes, signers);
  const out = values.out ?? file;
  writeFileDurable(out, bytes);
  console.log(
    `cosigned ${command.name} (${opcodeText(command.opcode)}) to node ${envelope.body.target} as operator ${signers.map((s) => s.operator).join(', ')}: ` +
      `${envelope.signatures.length + signers.length} signature(s), digest ${bodyDigest(envelope.bodyBytes).slice(0, 16)}, ${bytes.length} bytes -> ${out}`,
  );
  return 0;
}

async function tlm(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dict: { type: 'string' }, from: { type: 'string' }, json: { type: 'boolean' },
      listen: { type: 'string' }, node: { type: 'string' }, count: { type: 'string' }, timeout: { type: 'string' },
    },
  });
  if (values.listen !== undefined) {
    if (positionals.length > 0) throw new UsageError('--listen takes no FILE');
    return listen(values.listen, values);
  }
  const file = positionals[0] ?? '-';
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file === '-' ? 0 : file));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  printDownlink(bytes, loadDictionary(values), values.json === true, (line) => console.log(line));
  return 0;
}

/** The ground console: prints each received record as one JSON line until --count, --timeout or a signal. */
async function listen(at: string, values: { node?: string; count?: string; timeout?: string; dict?: string; from?: string }): Promise<number> {
  const address = parseAddress('--listen', at);
  const node = values.node === undefined ? GROUND_NODE : integer(values.node, '--node', 1, Number.MAX_SAFE_INTEGER);
  const count = values.count === undefined ? undefined : integer(values.count, '--count', 1, Number.MAX_SAFE_INTEGER);
  const timeoutS = values.timeout === undefined ? undefined : integer(values.timeout, '--timeout', 1, 30 * 86400);
  const dictionary = loadDictionary(values);
  let printed = 0;
  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));
  const listener = await listenAsGround(
    node,
    address,
    (payload, from, source) => {
      try {
        printDownlink(payload, dictionary, true, (line) => {
          console.log(line);
          printed++;
        });
      } catch (error) {
        // A damaged payload is reported and acknowledged: the link delivered what it was given.
        if (!(error instanceof TernError)) throw error;
        console.error(`tern gse tlm: from ${source} (${from.cla}:${from.address}:${from.port}): ${error.message}`);
      }
      if (count !== undefined && printed >= count) done(0);
    },
    (why) => console.error(`tern gse tlm: refused ${why}`),
  );
  console.error(`tern gse tlm: ground node ${node} listening on TCPCLv4 ${address.host}:${listener.tcpPort} and UDP ${address.host}:${listener.udpPort}`);
  const timer = timeoutS === undefined ? undefined : setTimeout(() => done(count === undefined ? 0 : 1), timeoutS * 1000);
  const onSignal = (): void => done(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await finished;
  clearTimeout(timer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await listener.close();
  if (code !== 0) console.error(`tern gse tlm: ${printed} of ${count} records before the timeout`);
  return code;
}

async function dict(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, from: { type: 'string' }, list: { type: 'boolean' } } });
  const dictionary = loadDictionary(values);
  if (values.out !== undefined) writeFileDurable(values.out, dictionaryJson(dictionary));
  console.log(
    `dictionary ${dictionary.hash}: ${dictionary.commands.length} commands, ${dictionary.channels.length} channels, ` +
      `${dictionary.events.length} events, ${dictionary.parameters.length} parameters` + (values.out === undefined ? '' : ` -> ${values.out}`),
  );
  if (values.list) {
    for (const c of dictionary.commands) {
      const args = c.args.map((a) => `${a.name}:${a.type === 'enum' ? a.values.join('|') : a.type}`).join(' ');
      const critical = c.criticality === 'critical' ? ' [critical]' : c.criticalWhen ? ` [critical when ${c.criticalWhen}]` : '';
      console.log(`  ${opcodeText(c.opcode)} ${c.name} ${args}${critical}  ${c.doc}`);
    }
  }
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  keygen, send, cosign, tlm, dict,
  // The web console and its archive's export live in gse/console/, loaded only when asked for.
  console: async (argv) => (await import('./console/cli.js')).runConsole(argv),
  export: async (argv) => (await import('./console/export.js')).runExport(argv),
};

export async function runGse(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const sub = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!sub) {
    console.error(name === undefined || name === '--help' ? USAGE : `tern gse: unknown subcommand ${JSON.stringify(name)}\n${USAGE}`);
    return name === '--help' ? 0 : 2;
  }
  try {
    return await sub(rest);
  } catch (error) {
    // node:util parseArgs reports unknown options with a TypeError carrying this code.
    const usage = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!(error instanceof TernError) && !usage) throw error;
    console.error(`tern gse ${name}: ${(error as Error).message}`);
    return 2;
  }
}
