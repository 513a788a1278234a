// `tern gse`: the operator's ground tools: keygen, send, cosign, upload (upload-cli.ts), tlm, dict (and the web console's
// console and export, in gse/console/). Each declares its options in a CommandSpec below, from
// which its --help is made.
// A critical command needs k operators' signatures, and each operator's key stays on their own
// machine: the first makes the envelope with `send --out`, the others add theirs with `cosign`
// (each is shown what they approve first), and any of them sends the file with `send --envelope`.
// Exit codes: 0 done; 1 the ground station did not take the command; 2 refused (bad input,
// unreadable key or dictionary, no transport): nothing was sent or written. Anything else is a bug and crashes with its stack.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { integerOption, runCommand, runGroup, UsageError, type CommandSpec, type GroupSpec, type OptionSpecs, type Parsed } from '../flight/cli-args.js';
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
import { GROUND_NODE, listenAsGround, parseAddress, transmit, TransmitFailed, type Address, type TransmitOptions } from './transport.js';

const TRANSPORT = {
  via: { type: 'string', arg: 'HOST:PORT', doc: 'the ground-station node that takes the command bundle' },
  cla: { type: 'string', arg: 'tcp|udp', doc: 'TCPCLv4, which the station acknowledges or refuses (default), or UDP, which nobody acknowledges' },
  ground: { type: 'string', arg: 'N', doc: `this ground node's ipn number (default ${GROUND_NODE})` },
} as const satisfies OptionSpecs;

const DICTIONARY = {
  dict: { type: 'string', arg: 'FILE', doc: 'a command dictionary (tern gse dict --out FILE)' },
  from: { type: 'string', arg: 'DATA_DIR', doc: "a node's data directory: its own dictionary.json" },
} as const satisfies OptionSpecs;

const KEYGEN = {
  name: 'tern gse keygen',
  summary: 'Makes an ML-DSA-65 key pair: FILE (secret, mode 0600) and FILE.pub.json (public, for mission configs).',
  usage: ['--out FILE --id N [--name NAME] [--force]'],
  options: {
    out: { type: 'string', arg: 'FILE', doc: 'the secret key file to write (required)' },
    id: { type: 'string', arg: 'N', doc: 'operator (or node) id, 1..2^32-1 (required)' },
    name: { type: 'string', arg: 'NAME', doc: 'a name for people (default operator-N)' },
    force: { type: 'boolean', doc: 'replace an existing key' },
  },
  examples: ['tern gse keygen --out alice.key --id 1 --name alice'],
} as const satisfies CommandSpec<OptionSpecs>;

const SEND = {
  name: 'tern gse send',
  summary: 'Signs a command for a node and hands it to a ground station (--via), or writes it (--out, --bundle-out).',
  usage: [
    'NODE COMMAND [ARGS...] --key FILE [--key FILE ...] [--dict FILE | --from DATA_DIR] [--seq N] [--expires SECONDS]',
    '    (--via HOST:PORT [--cla tcp|udp] [--ground N] | --out FILE|- | --bundle-out FILE|-)',
    '--envelope FILE --via HOST:PORT [--cla tcp|udp] [--ground N] [--dict FILE | --from DATA_DIR]',
  ],
  options: {
    key: { type: 'string', multiple: true, arg: 'FILE', doc: 'secret key of a signer; the first is the originator, whose FILE.seq counter advances' },
    ...DICTIONARY,
    seq: { type: 'string', arg: 'N', doc: 'sequence number (default: one past the last sent with this key)' },
    expires: { type: 'string', arg: 'SECONDS', doc: 'the command is refused after this long (default 600)' },
    out: { type: 'string', arg: 'FILE|-', doc: 'write the signed envelope instead of sending it (for cosign, send --envelope)' },
    'bundle-out': { type: 'string', arg: 'FILE|-', doc: 'write the command bundle as it would go on the wire instead of sending it' },
    envelope: { type: 'string', arg: 'FILE', doc: 'send a prepared (co-signed) envelope as it is' },
    ...TRANSPORT,
  },
  positionals: true,
  notes: `ARGS are the command's arguments in order, or NAME=VALUE; bytes as hex:..., base64:... or @FILE.
Over TCPCLv4 the station acknowledges the bundle once it is durable there; a station that refuses
it (XFER_REFUSE, SESS_TERM), for instance because no route leads to NODE, says why and send
exits 1. Over UDP nothing is acknowledged: "sent" means only that the kernel took the datagram.
Exit codes: 0 sent or written; 1 the station did not take it; 2 bad input, nothing sent.`,
  examples: [
    'tern gse send 20 PING 42 --key flight/config/missions/local/keys/demo-operator.key --via 127.0.0.1:4610',
    'tern gse send 20 SET_MODE NOMINAL --key alice.key --out mode.cbor',
    'tern gse send --envelope mode.cbor --via 127.0.0.1:4610',
  ],
} as const satisfies CommandSpec<OptionSpecs>;

const COSIGN = {
  name: 'tern gse cosign',
  summary: 'Adds a signature to an envelope made by send --out (k-of-n approval), after showing what it commands.',
  usage: ['FILE --key FILE [--key FILE ...] [--pub FILE.pub.json ...] [--dict FILE | --from DATA_DIR] [--out FILE2]'],
  options: {
    key: { type: 'string', multiple: true, arg: 'FILE', doc: 'secret key of the approver (required)' },
    pub: { type: 'string', multiple: true, arg: 'FILE.pub.json', doc: 'check the signature already there of this operator' },
    ...DICTIONARY,
    out: { type: 'string', arg: 'FILE2', doc: 'write a copy instead of FILE in place' },
  },
  positionals: true,
  notes: 'Refuses an expired envelope, an unknown command, bad arguments, a second signature by the same operator.',
  examples: ['tern gse cosign mode.cbor --key bob.key --pub alice.key.pub.json'],
} as const satisfies CommandSpec<OptionSpecs>;

const TLM = {
  name: 'tern gse tlm',
  summary: 'Prints downlink records (responses, events, housekeeping) from a file, or listens as the ground console.',
  usage: ['[FILE|-] [--dict FILE | --from DATA_DIR] [--json]', '--listen HOST:PORT [--node N] [--count N] [--timeout SECONDS]'],
  options: {
    ...DICTIONARY,
    json: { type: 'boolean', doc: 'one JSON line per record (always so with --listen)' },
    listen: { type: 'string', arg: 'HOST:PORT', doc: 'be the ground node on TCPCLv4 and UDP at HOST:PORT' },
    node: { type: 'string', arg: 'N', doc: `the ground node's ipn number (default ${GROUND_NODE})` },
    count: { type: 'string', arg: 'N', doc: 'stop after N records' },
    timeout: { type: 'string', arg: 'SECONDS', doc: 'stop after this long (exit 1 if --count was not reached)' },
  },
  positionals: true,
  examples: ['tern gse tlm --listen 127.0.0.1:4700 --node 100', 'tern gse tlm downlink.cbor --from var/mission/sat-20'],
} as const satisfies CommandSpec<OptionSpecs>;

const DICT = {
  name: 'tern gse dict',
  summary: 'Prints (and writes) the command, telemetry, event and parameter dictionary.',
  usage: ['[--out FILE] [--from DATA_DIR] [--list]'],
  options: {
    out: { type: 'string', arg: 'FILE', doc: 'write the dictionary as JSON' },
    from: DICTIONARY.from,
    list: { type: 'boolean', doc: 'list every command with its arguments' },
  },
  examples: ['tern gse dict --from var/mission/sat-20 --list'],
} as const satisfies CommandSpec<OptionSpecs>;

async function keygen(values: Parsed<typeof KEYGEN.options>['values']): Promise<number> {
  if (!values.out) throw new UsageError('--out FILE is required');
  const id = integerOption(values.id, '--id', 1, 0xffff_ffff);
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
  const last = existsSync(counter) ? integerOption(readFileSync(counter, 'utf8').trim(), counter, 0, Number.MAX_SAFE_INTEGER) : 0;
  const seq = given === undefined ? last + 1 : integerOption(given, '--seq', 1, Number.MAX_SAFE_INTEGER);
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
  const ground = values.ground === undefined ? GROUND_NODE : integerOption(values.ground, '--ground', 1, Number.MAX_SAFE_INTEGER);
  return { ground, ...(via ? { via } : {}), ...(cla ? { cla } : {}) };
}

/** The operator's record of what left: one line naming the command by its body digest. */
function sentLine(command: CommandDef, envelope: Envelope, bytes: number): string {
  const { body } = envelope;
  return `sent ${command.name} (${opcodeText(command.opcode)}) to node ${body.target}: operator ${body.operator} seq ${body.seq}, ` +
    `${envelope.signatures.length} signature(s), expires ${new Date(body.expiryMs).toISOString()}, digest ${bodyDigest(envelope.bodyBytes).slice(0, 16)}, ${bytes} bytes`;
}

async function send(values: Parsed<typeof SEND.options>['values'], positionals: string[]): Promise<number> {
  if (values.envelope !== undefined) return sendEnvelope(values.envelope, values, positionals);
  const [nodeText, commandText, ...words] = positionals;
  const node = integerOption(nodeText, 'NODE', 1, Number.MAX_SAFE_INTEGER);
  if (commandText === undefined) throw new UsageError('COMMAND is missing');
  const dictionary = loadDictionary(values);
  const command = findCommand(dictionary, commandText);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(commandText)} (tern gse dict --list shows the dictionary ${dictionary.hash})`);
  const args = parseCommandArgs(command, words, dictionary);
  const keyFiles = values.key ?? [];
  if (keyFiles.length === 0) throw new UsageError('at least one --key FILE is required: every command is signed');
  const bundleOut = values['bundle-out'];
  if ([values.via, values.out, bundleOut].filter((v) => v !== undefined).length > 1) throw new UsageError('give one of --via, --out and --bundle-out');
  const transport = transportOptions(values);
  if (!transport.via && values.out === undefined && bundleOut === undefined) {
    throw new UsageError('give --via HOST:PORT (a ground-station node), --out FILE or --bundle-out FILE (- for stdout)');
  }
  const dsa = mlDsa('ML-DSA-65');
  const signers = keyFiles.map((file) => {
    const key = readKeyFile(file, dsa);
    return { operator: key.id, seed: key.seed, publicKey: key.publicKey };
  });
  if (new Set(signers.map((s) => s.operator)).size !== signers.length) throw new UsageError('two --key files are the same operator');
  const expiresS = values.expires === undefined ? 600 : integerOption(values.expires, '--expires', 1, 7 * 86400);
  const seq = nextSeq(keyFiles[0]!, values.seq);
  const expiryMs = Date.now() + expiresS * 1000;
  const body = encodeBody({ target: node, operator: signers[0]!.operator, seq, expiryMs, opcode: command.opcode, args: argArray(command.args, args) });
  const envelope = signEnvelope(dsa, body, node, signers);
  const where = await transmitting(envelope, node, {
    expiryMs,
    from: transport.ground,
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(bundleOut === undefined ? {} : { bundleOut }),
    ...(transport.via ? { via: transport.via } : {}),
    ...(transport.cla ? { cla: transport.cla } : {}),
  });
  if (where === undefined) return 1;
  const toStdout = values.out === '-' || bundleOut === '-';
  (toStdout ? console.error : console.log)(sentLine(command, decodeEnvelope(envelope), envelope.length) + (toStdout ? '' : ` -> ${where}`));
  return 0;
}

/**
 * transmit(), with a station that did not take the bundle (refused it, could not route it, was
 * not there) reported on stderr: undefined then, for exit code 1. Nothing else is caught.
 */
async function transmitting(envelope: Uint8Array, target: number, options: TransmitOptions): Promise<string | undefined> {
  try {
    return await transmit(envelope, target, options);
  } catch (error) {
    if (!(error instanceof TransmitFailed)) throw error;
    console.error(`tern gse send: ${error.message}`);
    return undefined;
  }
}

/** `send --envelope FILE`: a prepared (typically co-signed) envelope goes out byte for byte. */
async function sendEnvelope(file: string, values: TransportValues & { dict?: string; from?: string; key?: string[]; seq?: string; expires?: string; out?: string; 'bundle-out'?: string }, positionals: string[]): Promise<number> {
  const mixed = [
    ...(positionals.length > 0 ? ['NODE COMMAND ARGS'] : []),
    ...(['key', 'seq', 'expires', 'out', 'bundle-out'] as const).filter((o) => values[o] !== undefined).map((o) => `--${o}`),
  ];
  if (mixed.length > 0) throw new UsageError(`--envelope FILE is sent as it is, its body names the node, command and expiry: drop ${mixed.join(', ')}`);
  const transport = transportOptions(values);
  if (!transport.via) throw new UsageError('--envelope FILE needs --via HOST:PORT (a ground-station node)');
  const prepared = readEnvelopeFile(file, loadDictionary(values));
  const { body } = prepared.envelope;
  refuseExpired(file, body);
  const where = await transmitting(prepared.bytes, body.target, { expiryMs: body.expiryMs, from: transport.ground, via: transport.via, ...(transport.cla ? { cla: transport.cla } : {}) });
  if (where === undefined) return 1;
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
async function cosign(values: Parsed<typeof COSIGN.options>['values'], positionals: string[]): Promise<number> {
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

async function tlm(values: Parsed<typeof TLM.options>['values'], positionals: string[]): Promise<number> {
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
  const node = values.node === undefined ? GROUND_NODE : integerOption(values.node, '--node', 1, Number.MAX_SAFE_INTEGER);
  const count = values.count === undefined ? undefined : integerOption(values.count, '--count', 1, Number.MAX_SAFE_INTEGER);
  const timeoutS = values.timeout === undefined ? undefined : integerOption(values.timeout, '--timeout', 1, 30 * 86400);
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

async function dict(values: Parsed<typeof DICT.options>['values']): Promise<number> {
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

const GSE: GroupSpec = {
  name: 'tern gse',
  summary: 'Ground tools: operator keys, signed commands and their co-signing, signed file uploads, the telemetry console, the dictionary.',
  examples: [
    'tern gse send 20 PING 42 --key flight/config/missions/local/keys/demo-operator.key --via 127.0.0.1:4610',
    'tern gse send --help',
  ],
  commands: {
    keygen: { summary: 'make an operator (or node) ML-DSA-65 key pair', run: (argv) => runCommand(KEYGEN, argv, keygen) },
    send: { summary: 'sign a command and send it through a ground station (or write it)', run: (argv) => runCommand(SEND, argv, send) },
    cosign: { summary: 'add an approver\'s signature to a command file (k-of-n)', run: (argv) => runCommand(COSIGN, argv, cosign) },
    upload: { summary: 'sign a model or contact plan file and send it to a node for activation by command', run: async (argv) => (await import('./upload-cli.js')).runUpload(argv) },
    tlm: { summary: 'print downlink records, or listen as the ground console', run: (argv) => runCommand(TLM, argv, tlm) },
    dict: { summary: 'print or write the dictionary of commands, telemetry, events, parameters', run: (argv) => runCommand(DICT, argv, dict) },
    // The web console and its archive's export live in gse/console/, loaded only when asked for.
    console: { summary: 'the web console with its telemetry archive', run: async (argv) => (await import('./console/cli.js')).runConsole(argv) },
    export: { summary: 'export channels, events, commands or responses from the archive', run: async (argv) => (await import('./console/export.js')).runExport(argv) },
    certs: { summary: 'make a mission CA and TLS certificates for nodes (TCPCLv4 under TLS)', run: async (argv) => (await import('./certs.js')).runCerts(argv) },
  },
};

export function runGse(argv: string[]): Promise<number> {
  return runGroup(GSE, argv);
}
