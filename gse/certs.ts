// `tern gse certs`: a mission CA and node certificates for TCPCLv4 under TLS (RFC 9174 4.4).
// node:crypto makes keys but cannot sign X.509 certificates, so this drives the machine's
// openssl (a child process per step, arguments as an array: no shell). Each node certificate
// carries its node ID as a subjectAltName URI (`ipn:N.0`), which a TCPCL peer checks against the
// node ID the session announces; extendedKeyUsage allows both TLS roles, since a node is the TLS
// client of the sessions it opens and the server of those it accepts. Keys are EC P-256.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TcpclTls } from '../flight/cla/tcpcl-tls.js';
import { runCommand, UsageError, type CommandSpec, type OptionSpecs } from '../flight/cli-args.js';
import { TernError } from '../flight/errors.js';

export interface CertFiles {
  readonly key: string;
  readonly cert: string;
}

export class CertsError extends TernError {
  readonly code = 'GSE_CERTS';
  constructor(message: string) {
    super(message);
    this.name = 'CertsError';
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new CertsError(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

/** A self-signed mission CA in `dir`: ca.key (mode 0600) and ca.crt. */
export function makeCa(dir: string, name = 'Tern mission CA', days = 3650): CertFiles {
  mkdirSync(dir, { recursive: true });
  const files = { key: join(dir, 'ca.key'), cert: join(dir, 'ca.crt') };
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key, '-out', files.cert,
    '-days', String(days), '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(files.key, 0o600);
  return files;
}

/** A certificate for node `node` signed by `ca`, in `dir`: node-N.key (mode 0600) and node-N.crt. */
export function makeNodeCert(dir: string, ca: CertFiles, node: number, days = 825): CertFiles {
  if (!Number.isSafeInteger(node) || node < 1) throw new CertsError(`node number ${node}: a positive integer`);
  mkdirSync(dir, { recursive: true });
  const files = { key: join(dir, `node-${node}.key`), cert: join(dir, `node-${node}.crt`) };
  const csr = join(dir, `node-${node}.csr`);
  const ext = join(dir, `node-${node}.ext`);
  writeFileSync(ext, [
    `subjectAltName=URI:ipn:${node}.0`, 'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth,clientAuth', '',
  ].join('\n'));
  try {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key, '-out', csr, '-subj', `/CN=ipn:${node}.0`]);
    openssl([
      'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomSerial()}`,
      '-days', String(days), '-extfile', ext, '-out', files.cert,
    ]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  chmodSync(files.key, 0o600);
  return files;
}

/** The CA and node `node`'s files in a directory as makeCa and makeNodeCert lay it out. */
export function certFilesIn(dir: string, node: number): { ca: CertFiles; node: CertFiles } {
  return {
    ca: { key: join(dir, 'ca.key'), cert: join(dir, 'ca.crt') },
    node: { key: join(dir, `node-${node}.key`), cert: join(dir, `node-${node}.crt`) },
  };
}

/** TCPCLv4 TLS settings for node `node` from such a directory, every peer required to use TLS. */
export function readNodeTls(dir: string, node: number): TcpclTls {
  const files = certFilesIn(dir, node);
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new CertsError(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (tern gse certs --out ${dir} --nodes ${node} makes it)`);
    }
  };
  return { key: read(files.node.key), cert: read(files.node.cert), ca: read(files.ca.cert), required: true, requiredFor: [] };
}

function randomSerial(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('').replace(/^[89a-f]/, '1');
}

const CERTS = {
  name: 'tern gse certs',
  summary: 'Makes a mission CA (unless --ca DIR names one) and a TLS certificate per node for TCPCLv4 (subjectAltName URI ipn:N.0).',
  usage: ['--out DIR --nodes N[,N...] [--ca DIR]'],
  options: {
    out: { type: 'string', arg: 'DIR', doc: 'where the certificates and keys go (required)' },
    nodes: { type: 'string', arg: 'N,N', doc: 'node numbers to make certificates for (required)' },
    ca: { type: 'string', arg: 'DIR', doc: 'an existing CA (ca.key, ca.crt) instead of a new one in DIR' },
  },
  notes: 'Needs openssl on the PATH. Keys are EC P-256, written with mode 0600: keep them off version control. '
    + 'A node uses them as cla.tcp.tls { key, certificate, trustedCas, required } in its mission config.',
  examples: ['tern gse certs --out var/mission/certs --nodes 10,20,100'],
} as const satisfies CommandSpec<OptionSpecs>;

export function runCerts(argv: string[]): Promise<number> {
  return runCommand(CERTS, argv, async (values) => {
    if (values.out === undefined) throw new UsageError('--out DIR is required');
    if (values.nodes === undefined) throw new UsageError('--nodes N[,N...] is required');
    const nodes = values.nodes.split(',').map((n) => Number(n.trim()));
    if (nodes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new UsageError(`--nodes ${values.nodes}: positive integers, comma-separated`);
    try {
      const caDir = values.ca ?? values.out;
      const ca = values.ca !== undefined || existsSync(join(caDir, 'ca.crt'))
        ? { key: join(caDir, 'ca.key'), cert: join(caDir, 'ca.crt') }
        : makeCa(caDir);
      console.log(`mission CA: ${ca.cert}`);
      for (const node of nodes) {
        const files = makeNodeCert(values.out, ca, node);
        console.log(`node ${node} (ipn:${node}.0): ${files.cert}, key ${files.key} (mode 0600)`);
      }
      return 0;
    } catch (error) {
      if (!(error instanceof CertsError)) throw error;
      console.error(`tern gse certs: ${error.message}`);
      return 1;
    }
  });
}
