// TCPCLv4 under TLS (RFC 9174 4.4) between two Tern nodes over real sockets on 127.0.0.1, with
// a mission CA and node certificates made at test time by `tern gse certs`'s code (openssl) in a
// temporary directory: a session inside TLS 1.3, refusals of a certificate naming another node
// and of one no trusted CA signed, and a node that requires TLS refusing a plaintext peer.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseClaConfig } from '../../flight/cla/config.js';
import type { TcpclTls } from '../../flight/cla/tcpcl-tls.js';
import { Fields } from '../../flight/config/fields.js';
import { ConfigError } from '../../flight/errors.js';
import { makeCa, makeNodeCert, type CertFiles } from '../../gse/certs.js';
import { TERN } from '../support/node-process.js';
import { until } from '../support/wait.js';
import { tcpNode, type TcpNode, type TcpNodeOptions } from './support.js';

let dir: string;
let ca: CertFiles;
let foreignCa: CertFiles;
const certs = new Map<string, CertFiles>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tern-tls-'));
  ca = makeCa(join(dir, 'mission'));
  foreignCa = makeCa(join(dir, 'foreign'), 'Some other CA');
  for (const n of [1, 2, 3]) certs.set(`mission-${n}`, makeNodeCert(join(dir, 'mission'), ca, n));
  certs.set('foreign-2', makeNodeCert(join(dir, 'foreign'), foreignCa, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tls(which: string, required = false, requiredFor: number[] = []): TcpclTls {
  const files = certs.get(which)!;
  return { key: readFileSync(files.key), cert: readFileSync(files.cert), ca: readFileSync(ca.cert), required, requiredFor };
}

const nodes: TcpNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.cla.close()));
});

async function node(options: TcpNodeOptions): Promise<TcpNode> {
  const n = await tcpNode(options);
  nodes.push(n);
  return n;
}

const errorCodes = (n: TcpNode): unknown[] => n.events.filter((e) => e.name === 'CLA_TCP_PROTOCOL_ERROR').map((e) => e.args.code);

describe('TCPCLv4 under TLS', () => {
  it('runs a session between two Tern nodes inside TLS 1.3 and carries bundles both ways', async () => {
    const one = await node({ localNodeId: 'ipn:1.0', listen: false, tls: tls('mission-1') });
    const two = await node({ localNodeId: 'ipn:2.0', tls: tls('mission-2', true) });
    const out = await one.cla.connect('127.0.0.1', two.port, 'ipn:2.0');
    await until(() => two.cla.sessions().length === 1, 'the passive session');
    const back = two.cla.sessions()[0]!;
    expect([out.secure, back.secure]).toEqual([true, true]);
    expect(back.peer.nodeId).toBe('ipn:1.0');
    await out.send(Uint8Array.of(1, 2, 3));
    await back.send(new Uint8Array(200_000).fill(7)); // several segments
    await until(() => two.sink.accepted.length === 1 && one.sink.accepted.length === 1, 'both bundles');
    expect([...two.sink.accepted[0]!.bytes]).toEqual([1, 2, 3]);
    expect(one.sink.accepted[0]!.bytes.length).toBe(200_000);
  });

  it('refuses a peer whose certificate names another node than the one its session announces', async () => {
    const one = await node({ localNodeId: 'ipn:1.0', listen: false, tls: tls('mission-1') });
    // Node 2 presents node 3's certificate (trusted, but naming ipn:3.0).
    const two = await node({ localNodeId: 'ipn:2.0', tls: tls('mission-3') });
    await expect(one.cla.connect('127.0.0.1', two.port, 'ipn:2.0')).rejects.toThrow();
    await until(() => errorCodes(one).includes('TCPCL_TLS_NODE_ID'), 'the refusal to be counted');
    expect(one.cla.sessions()).toEqual([]);
  });

  it('refuses a certificate that no trusted CA signed', async () => {
    const one = await node({ localNodeId: 'ipn:1.0', listen: false, tls: tls('mission-1') });
    const two = await node({ localNodeId: 'ipn:2.0', tls: tls('foreign-2') });
    await expect(one.cla.connect('127.0.0.1', two.port, 'ipn:2.0')).rejects.toThrow();
    await until(() => errorCodes(one).includes('TCPCL_TLS_HANDSHAKE'), 'the failed handshake to be counted');
    await until(() => two.cla.sessions().length === 0, 'no session on the other side');
  });

  it('a node that requires TLS refuses a plaintext peer; one that only offers it runs in plain TCP', async () => {
    const plain = await node({ localNodeId: 'ipn:1.0', listen: false });
    const strict = await node({ localNodeId: 'ipn:2.0', tls: tls('mission-2', true) });
    await expect(plain.cla.connect('127.0.0.1', strict.port, 'ipn:2.0')).rejects.toThrow();
    await until(() => errorCodes(strict).includes('TCPCL_TLS_REQUIRED'), 'the refusal to be counted');
    expect(strict.cla.sessions()).toEqual([]);

    const offering = await node({ localNodeId: 'ipn:3.0', tls: tls('mission-3') });
    const session = await plain.cla.connect('127.0.0.1', offering.port, 'ipn:3.0');
    expect(session.secure).toBe(false);
    await session.send(Uint8Array.of(9));
    await until(() => offering.sink.accepted.length === 1, 'the bundle over plain TCP');
  });

  it('requiredFor: a station takes plain sessions, but refuses one announcing a listed node outside TLS, both ways', async () => {
    const station = await node({ localNodeId: 'ipn:2.0', tls: tls('mission-2', false, [1]) });
    // Node 3 (a satellite, say) may run plain.
    const satellite = await node({ localNodeId: 'ipn:3.0', listen: false });
    const plainSession = await satellite.cla.connect('127.0.0.1', station.port, 'ipn:2.0');
    expect(plainSession.secure).toBe(false);
    await plainSession.send(Uint8Array.of(3));
    // Node 1 (the console's node) without TLS is refused at its SESS_INIT, counted.
    const impostor = await node({ localNodeId: 'ipn:1.0', listen: false });
    await expect(impostor.cla.connect('127.0.0.1', station.port, 'ipn:2.0')).rejects.toThrow();
    await until(() => errorCodes(station).includes('TCPCL_TLS_REQUIRED'), 'the refusal to be counted');
    expect(station.cla.sessions().map((s) => s.peer.nodeId)).toEqual(['ipn:3.0']);
    // The station dialling a plain node 1 refuses it too; with TLS on both sides it runs inside TLS.
    const plainConsole = await node({ localNodeId: 'ipn:1.0' });
    await expect(station.cla.connect('127.0.0.1', plainConsole.port, 'ipn:1.0')).rejects.toThrow();
    const console_ = await node({ localNodeId: 'ipn:1.0', tls: tls('mission-1', true) });
    const secure = await station.cla.connect('127.0.0.1', console_.port, 'ipn:1.0');
    expect(secure.secure).toBe(true);
    await secure.send(Uint8Array.of(1));
    await until(() => console_.sink.accepted.length === 1, 'the bundle inside TLS');
  });

  it('reads cla.tcp.tls from a mission config: PEM files relative to the config file; a missing one is a ConfigError naming the field', () => {
    const f = new Fields(join(dir, 'mission', 'node-2.json'));
    const parsed = parseClaConfig(f, { tcp: { tls: { key: 'node-2.key', certificate: 'node-2.crt', trustedCas: 'ca.crt', required: true } } }, 'cla');
    expect(parsed.tcp!.tls!.required).toBe(true);
    expect(Buffer.from(parsed.tcp!.tls!.cert).equals(readFileSync(certs.get('mission-2')!.cert))).toBe(true);
    expect(parseClaConfig(f, { tcp: { tls: { key: 'node-2.key', certificate: 'node-2.crt', trustedCas: 'ca.crt' } } }, 'cla').tcp!.tls!.required).toBe(false);
    expect(() => parseClaConfig(f, { tcp: { tls: { key: 'nope.key', certificate: 'node-2.crt', trustedCas: 'ca.crt' } } }, 'cla'))
      .toThrow(ConfigError);
    expect(() => parseClaConfig(f, { tcp: { tls: { key: 'nope.key', certificate: 'node-2.crt', trustedCas: 'ca.crt' } } }, 'cla')).toThrow(/cla\.tcp\.tls\.key/);
    expect(() => parseClaConfig(f, { tcp: { tls: { key: 'node-2.key', certificate: 'node-2.crt', trustedCas: 'ca.crt', required: 'yes' } } }, 'cla')).toThrow(/required/);
    expect(parseClaConfig(f, { tcp: { tls: { key: 'node-2.key', certificate: 'node-2.crt', trustedCas: 'ca.crt', requiredFor: [100] } } }, 'cla').tcp!.tls!.requiredFor).toEqual([100]);
    expect(() => parseClaConfig(f, { tcp: { tls: { key: 'node-2.key', certificate: 'node-2.crt', trustedCas: 'ca.crt', requiredFor: [0] } } }, 'cla')).toThrow(/requiredFor\[0\]/);
  });

  it('tern gse certs makes a mission CA and node certificates naming ipn:N.0, signed by it; bad input exits 2', () => {
    const out = join(dir, 'cli');
    const run = spawnSync(process.execPath, [TERN, 'gse', 'certs', '--out', out, '--nodes', '10,20'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    for (const n of [10, 20]) {
      const cert = new X509Certificate(readFileSync(join(out, `node-${n}.crt`)));
      expect(cert.subjectAltName).toBe(`URI:ipn:${n}.0`);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(statSync(join(out, `node-${n}.key`)).mode & 0o777).toBe(0o600);
    }
    // openssl agrees that the chain holds.
    execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'node-10.crt')]);
    expect(spawnSync(process.execPath, [TERN, 'gse', 'certs', '--out', out, '--nodes', '0,x'], { encoding: 'utf8' }).status).toBe(2);
  });
});
