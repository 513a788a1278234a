// The console's API in process, on real sockets: a ground station (a TCPCLv4 peer in the test)
// takes the command bundles, and downlink bundles are sent to the console's ground node as a
// node would send them. Sessions, CSRF and origin checks, signing with the console's key,
// co-signing by a second operator elsewhere, and a full archive refusing (not acknowledging).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadBlock } from '../../flight/dtn/bundle.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { cosignEnvelope, decodeEnvelope, signEnvelope } from '../../flight/cmd/envelope.js';
import { writeKeyFiles } from '../../flight/cmd/keyfile.js';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { createRootLogger } from '../../flight/log.js';
import { encodeDownlink } from '../../flight/tlm/downlink-items.js';
import { GroundConsole, type ConsoleOptions } from '../../gse/console/console.js';
import { hashPassword } from '../../gse/console/auth.js';
import { standardDictionary } from '../../gse/dictionary.js';
import type { DownlinkItem } from '../../gse/tlm.js';
import { transmit } from '../../gse/transport.js';
import { GroundPeer } from '../support/mission.js';
import { eventually, until } from '../support/wait.js';
import { evt, hk, wideHk } from './support.js';

const dsa = mlDsa('ML-DSA-65');
const SEED_A = new Uint8Array(32).fill(1);
const SEED_B = new Uint8Array(32).fill(2);

let station: GroundPeer;
let stationPort: number;
let consoles: GroundConsole[] = [];

beforeEach(async () => {
  station = new GroundPeer(10);
  stationPort = (await station.tcp.listen('127.0.0.1', 0)).port;
});
afterEach(async () => {
  for (const c of consoles.splice(0)) await c.close();
  await station.close();
});

function signer(dir: string, id: number, seed: Uint8Array) {
  const file = join(dir, `op-${id}.key`);
  writeKeyFiles(file, { id, name: `op${id}`, seed, publicKey: dsa.publicKey(seed) });
  return { operator: id, name: `op${id}`, seed, publicKey: dsa.publicKey(seed), file };
}

async function start(extra: Partial<ConsoleOptions> = {}): Promise<{ c: GroundConsole; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-console-'));
  const c = await GroundConsole.start({
    listen: { host: '127.0.0.1', port: 0 }, dtn: { host: '127.0.0.1', port: 0 }, node: 100, archiveDir: join(dir, 'archive'),
    dictionary: standardDictionary(), dsa, log: createRootLogger({ level: 'silent' }), signer: signer(dir, 1, SEED_A),
    via: { host: '127.0.0.1', port: stationPort }, ...extra,
  });
  consoles.push(c);
  return { c, dir };
}

/** A browser's session: the login link followed, cookie and CSRF token kept. */
async function login(c: GroundConsole): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(c.loginUrl, { redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const state = (await (await fetch(new URL('/api/state', c.url), { headers: { cookie } })).json()) as { csrf: string };
  return { cookie, csrf: state.csrf };
}

function post(c: GroundConsole, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const raw = body instanceof Uint8Array;
  return fetch(new URL(path, c.url), { method: 'POST', headers: { ...(raw ? {} : { 'content-type': 'application/json' }), ...headers }, body: raw ? body : JSON.stringify(body) });
}

/** Sends downlink items to the console's ground node as one bundle; resolves when acknowledged. */
function downlink(c: GroundConsole, items: DownlinkItem[]): Promise<string> {
  const payload = Buffer.concat(items.map((i) => encodeDownlink(i)));
  return transmit(payload, 100, { expiryMs: Date.now() + 60_000, from: 20, via: { host: '127.0.0.1', port: c.dtnPort } });
}

function sentEnvelopes() {
  return station.received.map((r) => decodeEnvelope(payloadBlock(decodeBundle(r.bytes)).data));
}

describe('console API', () => {
  it('needs a session for everything but the login: no cookie, a wrong token or a forged cookie get nothing', async () => {
    const { c } = await start();
    expect((await fetch(new URL('/api/state', c.url))).status).toBe(401);
    const page = await fetch(c.url, { redirect: 'manual' });
    expect([page.status, page.headers.get('location')]).toEqual([303, '/login']);
    expect((await fetch(new URL('/login?token=wrong', c.url), { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(new URL('/api/state', c.url), { headers: { cookie: 'tern_session=forged' } })).status).toBe(401);
    const { cookie } = await login(c);
    expect((await fetch(c.url, { headers: { cookie } })).status).toBe(200);
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another origin; nothing is sent', async () => {
    const { c } = await start();
    const { cookie, csrf } = await login(c);
    const ping = { node: 20, command: 'PING', args: { token: '7' } };
    expect((await post(c, '/api/command', ping, { cookie })).status).toBe(403);
    expect((await post(c, '/api/command', ping, { cookie, 'x-csrf-token': 'x'.repeat(csrf.length) })).status).toBe(403);
    expect((await post(c, '/api/command', ping, { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(c, '/api/command', ping, { 'x-csrf-token': csrf })).status).toBe(401);
    expect(station.received).toHaveLength(0);
    expect(c.archive.commands({ fromMs: 0, toMs: Date.now() })).toHaveLength(0);
    const ok = await post(c, '/api/command', ping, { cookie, 'x-csrf-token': csrf, origin: new URL(c.url).origin });
    expect(ok.status, await ok.clone().text()).toBe(200);
  });

  it('signs a command from the form with its key, sends it through the station, and records who sent it', async () => {
    const { c } = await start();
    const { cookie, csrf } = await login(c);
    const res = await post(c, '/api/command', { node: 20, command: 'PING', args: { token: '0x2a' } }, { cookie, 'x-csrf-token': csrf });
    const sent = (await res.json()) as { digest: string; held: boolean };
    expect(sent.held).toBe(false);
    await station.waitFor(1);
    const [envelope] = sentEnvelopes();
    expect(envelope!.body).toMatchObject({ target: 20, operator: 1, seq: 1, opcode: 0x0502, args: [42] });
    expect(envelope!.signatures.map((s) => s.operator)).toEqual([1]);
    const [row] = c.archive.commands({ fromMs: 0, toMs: Date.now() });
    expect(row).toMatchObject({ command: 'PING', node: 20, args: { token: '42' }, digest: sent.digest, sentBy: 'op1 (console operator op1, 1)' });
    expect(row!.outcome).toMatch(/^sent with 1 signature\(s\) -> tcp:\/\/127\.0\.0\.1:/);
  });

  it('checks the form as gse send checks it: out of range, missing, unknown, a file reference: 400, nothing signed or sent', async () => {
    const { c } = await start();
    const { cookie, csrf } = await login(c);
    const refused = async (body: unknown) => {
      const res = await post(c, '/api/command', body, { cookie, 'x-csrf-token': csrf });
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    expect(await refused({ node: 20, command: 'PING', args: { token: '-1' } })).toMatch(/token/);
    expect(await refused({ node: 20, command: 'PING', args: {} })).toMatch(/token.*missing/);
    expect(await refused({ node: 20, command: 'NO_SUCH', args: {} })).toMatch(/unknown command "NO_SUCH"/);
    expect(await refused({ node: 20, command: 'SET_MODE', args: { mode: 'BANANA' } })).toMatch(/mode/);
    expect(await refused({ node: 20, command: 'OPERATOR_ADD', args: { operator: '5', roles: 'APPROVE', publicKey: '@/etc/passwd' } })).toMatch(/files are not read/);
    expect(station.received).toHaveLength(0);
    expect(c.archive.commands({ fromMs: 0, toMs: Date.now() })).toHaveLength(0);
  });

  it('holds a critical command; a second operator co-signs the downloaded envelope elsewhere; the upload keeps it byte for byte and it is sent with both signatures', async () => {
    const { c } = await start();
    const { cookie, csrf } = await login(c);
    const headers = { cookie, 'x-csrf-token': csrf };
    const held = (await (await post(c, '/api/command', { node: 20, command: 'SET_PARAM', args: { param: 'cmd.approvalWindowS', value: '900' }, hold: true }, headers)).json()) as { digest: string };
    expect(held.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(station.received).toHaveLength(0);
    const download = await fetch(new URL(`/api/held/${held.digest}/envelope`, c.url), { headers: { cookie } });
    const original = new Uint8Array(await download.arrayBuffer());
    // Operator 2, on their own machine: tern gse cosign does exactly this.
    const cosigned = cosignEnvelope(dsa, original, [{ operator: 2, seed: SEED_B, publicKey: dsa.publicKey(SEED_B) }]);
    expect((await post(c, '/api/held', new Uint8Array([1, 2, 3]), headers)).status).toBe(400);
    const up = await post(c, '/api/held', cosigned, headers);
    expect(up.status, await up.clone().text()).toBe(200);
    expect(await up.json()).toMatchObject({ digest: held.digest, signedBy: [1, 2], command: 'SET_PARAM' });
    const sent = await post(c, `/api/held/${held.digest}/send`, {}, headers);
    expect(sent.status, await sent.clone().text()).toBe(200);
    await station.waitFor(1);
    expect(Buffer.from(payloadBlock(decodeBundle(station.received[0]!.bytes)).data)).toEqual(Buffer.from(cosigned));
    expect(c.archive.commands({ fromMs: 0, toMs: Date.now() }).map((r) => [r.signatures, r.outcome.split(' ')[0]])).toEqual([[1, 'held'], [2, 'uploaded'], [2, 'sent']]);
    expect((await post(c, `/api/held/${held.digest}/send`, {}, headers)).status).toBe(400);
  });

  it('refuses an upload that drops or changes a signature already held', async () => {
    const { c } = await start();
    const { cookie, csrf } = await login(c);
    const headers = { cookie, 'x-csrf-token': csrf };
    const held = (await (await post(c, '/api/command', { node: 20, command: 'NOOP', args: {}, hold: true }, headers)).json()) as { digest: string };
    const original = new Uint8Array(await (await fetch(new URL(`/api/held/${held.digest}/envelope`, c.url), { headers: { cookie } })).arrayBuffer());
    const e = decodeEnvelope(original);
    // The same body signed by operator 2 alone: operator 1's held signature is missing.
    const without = signEnvelope(dsa, e.bodyBytes, 20, [{ operator: 2, seed: SEED_B, publicKey: dsa.publicKey(SEED_B) }]);
    const res = await post(c, '/api/held', without, headers);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/signature of operator 1 .* missing or changed/);
  });

  it("a second operator's own console co-signs an uploaded envelope with its key", async () => {
    const alice = await start();
    const a = await login(alice.c);
    const held = (await (await post(alice.c, '/api/command', { node: 20, command: 'NOOP', args: {}, hold: true }, { cookie: a.cookie, 'x-csrf-token': a.csrf })).json()) as { digest: string };
    const original = new Uint8Array(await (await fetch(new URL(`/api/held/${held.digest}/envelope`, alice.c.url), { headers: { cookie: a.cookie } })).arrayBuffer());
    const bobDir = mkdtempSync(join(tmpdir(), 'tern-console-bob-'));
    const bob = await start({ signer: signer(bobDir, 2, SEED_B) });
    const b = await login(bob.c);
    const headers = { cookie: b.cookie, 'x-csrf-token': b.csrf };
    expect(await (await post(bob.c, '/api/held', original, headers)).json()).toMatchObject({ signedBy: [1] });
    const cosigned = await post(bob.c, `/api/held/${held.digest}/cosign`, {}, headers);
    expect(await cosigned.json()).toMatchObject({ digest: held.digest, signedBy: [1, 2] });
    const again = await post(bob.c, `/api/held/${held.digest}/cosign`, {}, headers);
    expect(((await again.json()) as { error: string }).error).toMatch(/operator 2 has already signed/);
  });

  it('archives each downlinked bundle before acknowledging it, judges limits, and streams it to the page', async () => {
    const { c } = await start();
    const { cookie } = await login(c);
    const stream = await fetch(new URL('/api/stream', c.url), { headers: { cookie } });
    const reader = stream.body!.getReader();
    let text = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    await downlink(c, [hk(20, 1, { 'exec.frames': 100, 'cmd.failed': 2 }), evt(20, 'CMD_FAILED', 'warning', 'PING failed')]);
    // Acknowledged means archived: no waiting needed for the archive.
    expect(c.archive.counts()).toMatchObject({ hk: 1, event: 1 });
    const state = (await (await fetch(new URL('/api/state', c.url), { headers: { cookie } })).json()) as { nodes: Array<{ node: number; health: string; limits: unknown[] }> };
    expect(state.nodes[0]).toMatchObject({ node: 20, health: 'yellow', limits: [{ channel: 'cmd.failed', state: 'yellow', value: 2 }] });
    await until(() => text.includes('event: hk') && text.includes('event: evt'), 'hk and evt on the stream');
    void reader.cancel();
  });

  it('does not acknowledge a bundle the archive cannot store (full): the station keeps it; the console goes on', async () => {
    const { c } = await start({ archive: { maxPages: 40 } });
    let refused: unknown;
    for (let seq = 0; refused === undefined && seq < 2000; seq++) await downlink(c, [wideHk(20, seq, 40)]).catch((e: unknown) => (refused = e));
    expect(String(refused)).toMatch(/did not take/);
    expect(c.counters.archiveErrors).toBe(1);
    expect(c.counters.lastArchiveError).toMatch(/full/);
    const { cookie } = await login(c);
    expect((await fetch(new URL('/api/state', c.url), { headers: { cookie } })).status).toBe(200);
  });

  it('serves over TLS: the login page, a password login whose cookie is Secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-console-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const { c } = await start({ tls: { cert, key }, users: new Map([['alice', hashPassword('pw')]]) });
    expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const ca = readFileSync(cert);
    const request = (path: string, method: string, body?: string) => new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpsRequest(new URL(path, c.url), { method, ca, headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {} }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, headers: res.headers });
      });
      req.on('error', reject);
      req.end(body);
    });
    expect((await request('/login', 'GET')).status).toBe(200);
    const login = await request('/login', 'POST', new URLSearchParams({ name: 'alice', password: 'pw' }).toString());
    expect(login.status).toBe(303);
    expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Secure/);
  });

  it('logs in with a name and password from the users file; a wrong password or unknown name gets no session', async () => {
    const { c } = await start({ users: new Map([['alice', hashPassword('correct horse')]]) });
    const form = (name: string, password: string) => fetch(new URL('/login', c.url), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name, password }).toString() });
    expect((await form('alice', 'wrong')).status).toBe(401);
    expect((await form('mallory', 'correct horse')).status).toBe(401);
    const ok = await form('alice', 'correct horse');
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const state = await eventually(async () => (await (await fetch(new URL('/api/state', c.url), { headers: { cookie } })).json()) as { user: string }, 'state');
    expect(state.user).toBe('alice');
  });
});
