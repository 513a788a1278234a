// `tern gse upload`: a file for activation by command (a model for INFER_ACTIVATE_MODEL, a
// contact plan for ROUTE_PLAN_ACTIVATE), signed by one operator and sent through a ground station
// to the node's file service (ipn:NODE.4, flight/cmd/uplink.ts). It prints the file's SHA-256,
// which the activating command names and k operators approve. The node checks the signature,
// kind, size and digest before it stores anything; the content is validated at activation.
// Exit codes as `tern gse send`: 0 sent or written; 1 the station did not take it; 2 bad input.
import { readFileSync } from 'node:fs';
import { integerOption, runCommand, UsageError, type CommandSpec, type OptionSpecs, type Parsed } from '../flight/cli-args.js';
import { readKeyFile } from '../flight/cmd/keyfile.js';
import { mlDsa } from '../flight/cmd/mldsa.js';
import { UPLINK_SERVICE } from '../flight/cmd/uplink.js';
import { FILE_KINDS, MAX_FILE_BYTES, sha256Hex, signFile, type FileKind } from '../flight/cmd/uplink-envelope.js';
import { GROUND_NODE, parseAddress, transmit, TransmitFailed } from './transport.js';

const UPLOAD = {
  name: 'tern gse upload',
  summary: "Signs a file (a model or a contact plan) for a node and sends it through a ground station to the node's file service.",
  usage: [
    '--kind model|plan --file FILE --to NODE --key FILE (--via HOST:PORT [--ground N] | --out FILE) [--expires SECONDS]',
  ],
  options: {
    kind: { type: 'string', arg: 'model|plan', doc: 'what the file is: a .tern model (tern infer import) or a contact plan (tern route plan) (required)' },
    file: { type: 'string', arg: 'FILE', doc: 'the file to upload (required)' },
    to: { type: 'string', arg: 'NODE', doc: "the node's ipn number (required)" },
    key: { type: 'string', arg: 'FILE', doc: 'secret key of the operator who signs the file (required)' },
    via: { type: 'string', arg: 'HOST:PORT', doc: 'the ground-station node that takes the bundle (TCPCLv4: it acknowledges the bundle once durable)' },
    ground: { type: 'string', arg: 'N', doc: `this ground node's ipn number (default ${GROUND_NODE})` },
    out: { type: 'string', arg: 'FILE', doc: 'write the signed file envelope instead of sending it' },
    expires: { type: 'string', arg: 'SECONDS', doc: 'the bundle is dropped if not delivered within this long (default 86400)' },
  },
  notes: `Prints one JSON line: {"status":"sent"|"written"|"refused", "kind", "file", "sha256", "bytes", "node",
"operator", "to"}. Storing a file changes nothing on board: activate it by its sha256 with a critical
command that k operators sign: INFER_ACTIVATE_MODEL SHA256 or ROUTE_PLAN_ACTIVATE SHA256. A file
never activated is deleted on board with FILE_DELETE SHA256 (one operator).
Exit codes: 0 sent or written; 1 the station did not take it; 2 bad input, nothing sent.`,
  examples: [
    'tern gse upload --kind model --file person_detect.tern --to 20 --key alice.key --via 127.0.0.1:4610',
    'tern gse upload --kind plan --file plan.json --to 22 --key alice.key --via 127.0.0.1:4710',
  ],
} as const satisfies CommandSpec<OptionSpecs>;

async function upload(values: Parsed<typeof UPLOAD.options>['values']): Promise<number> {
  const kind = values.kind as FileKind | undefined;
  if (kind === undefined || !FILE_KINDS.includes(kind)) throw new UsageError(`--kind must be ${FILE_KINDS.join(' or ')}, got ${JSON.stringify(values.kind)}`);
  if (values.file === undefined) throw new UsageError('--file FILE is required');
  const node = integerOption(values.to, '--to', 1, Number.MAX_SAFE_INTEGER);
  if (values.key === undefined) throw new UsageError('--key FILE is required: every uploaded file is signed');
  if ((values.via === undefined) === (values.out === undefined)) throw new UsageError('give one of --via HOST:PORT (a ground-station node) and --out FILE');
  const via = values.via === undefined ? undefined : parseAddress('--via', values.via);
  const ground = values.ground === undefined ? GROUND_NODE : integerOption(values.ground, '--ground', 1, Number.MAX_SAFE_INTEGER);
  const expiresS = values.expires === undefined ? 86_400 : integerOption(values.expires, '--expires', 1, 30 * 86_400);
  let content: Uint8Array;
  try {
    content = new Uint8Array(readFileSync(values.file));
  } catch (error) {
    throw new UsageError(`cannot read ${values.file}: ${(error as Error).message}`);
  }
  if (content.length > MAX_FILE_BYTES) throw new UsageError(`${values.file} has ${content.length} bytes; a node takes at most ${MAX_FILE_BYTES}`);
  const dsa = mlDsa('ML-DSA-65');
  const key = readKeyFile(values.key, dsa);
  const envelope = signFile(dsa, content, { target: node, kind, name: values.file, signer: { operator: key.id, seed: key.seed, publicKey: key.publicKey } });
  const result = { kind, file: values.file, sha256: sha256Hex(content), bytes: content.length, node, operator: key.id };
  try {
    const to = await transmit(envelope, node, { expiryMs: Date.now() + expiresS * 1000, from: ground, service: UPLINK_SERVICE, ...(via ? { via } : {}), ...(values.out === undefined ? {} : { out: values.out }) });
    console.log(JSON.stringify({ status: via ? 'sent' : 'written', ...result, to }));
    return 0;
  } catch (error) {
    if (!(error instanceof TransmitFailed)) throw error;
    console.error(`tern gse upload: ${error.message}`);
    console.log(JSON.stringify({ status: 'refused', ...result, error: error.message }));
    return 1;
  }
}

export function runUpload(argv: string[]): Promise<number> {
  return runCommand(UPLOAD, argv, upload);
}
