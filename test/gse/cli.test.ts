// The ground CLI as real child processes (`node dist/gse/tern.js gse ...`, after `npm run build`):
// keys are generated, commands signed and written by the file transport, handed to a node's
// commanding (real data directory), and what the node sends down is printed by `tern gse tlm`.
// Envelopes made by one operator are co-signed by others (`tern gse cosign`) as files.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { parseCmdConfig } from '../../flight/cmd/config.js';
import { encodeDownlink } from '../../flight/tlm/downlink-items.js';
import type { DownlinkItem } from '../../gse/tlm.js';
import { commandContext, decodeEnvelope, encodeBody, MAX_SIGNATURES, signEnvelope } from '../../flight/cmd/envelope.js';
import { readDictionary } from '../../flight/cmd/export.js';
import { readKeyFile, readPublicKeyFile } from '../../flight/cmd/keyfile.js';
import { NobleMlDsa } from '../../flight/cmd/mldsa.js';
import { TERN } from '../support/node-process.js';
import { harness, type TestOperator } from '../cmd/support/harness.js';

function tern(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [TERN, 'gse', ...args], { cwd, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const dsa = new NobleMlDsa('ML-DSA-65');

function operator(file: string, roles: TestOperator['roles']): TestOperator {
  const key = readKeyFile(file, dsa);
  return { operator: key.id, name: key.name, roles, seed: key.seed, publicKey: key.publicKey };
}

/** An envelope for node 7 signed by these key files, as the CLI would refuse to make it. */
function handBuilt(dir: string, keys: string[], body: { expiryMs?: number; opcode: number; args: unknown[] }): Uint8Array {
  const signers = keys.map((k) => readKeyFile(join(dir, k), dsa)).map((k) => ({ operator: k.id, seed: k.seed, publicKey: k.publicKey }));
  const bodyBytes = encodeBody({ target: 7, operator: signers[0]!.operator, seq: 77, expiryMs: body.expiryMs ?? Date.now() + 600_000, opcode: body.opcode, args: body.args });
  return signEnvelope(dsa, bodyBytes, 7, signers);
}

function keygen(dir: string, ...names: Array<[string, number]>): void {
  for (const [name, id] of names) expect(tern(['keygen', '--out', `${name}.key`, '--id', String(id), '--name', name], dir).status).toBe(0);
}

describe('tern gse (child processes)', () => {
  it('keygen, send, node executes, tlm prints responses, events and housekeeping', () => {
    expect(existsSync(TERN), 'run `npm run build` first').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    for (const [name, id] of [['alice', 1], ['bob', 2], ['carol', 3]] as const) {
      const made = tern(['keygen', '--out', `${name}.key`, '--id', String(id), '--name', name], dir);
      expect(made.status, made.stderr).toBe(0);
      expect(statSync(join(dir, `${name}.key`)).mode & 0o777).toBe(0o600);
    }
    expect(tern(['keygen', '--out', 'alice.key', '--id', '1'], dir)).toMatchObject({ status: 2, stderr: expect.stringMatching(/refusing to overwrite/) });

    // The node: operators from the public key files, as a mission config names them.
    const config = parseCmdConfig(new Fields(join(dir, 'mission.json')), {
      approvals: 2,
      operators: [
        { id: 1, name: 'alice', roles: ['operate', 'approve'], publicKeyFile: 'alice.key.pub.json' },
        { id: 2, name: 'bob', roles: ['approve'], publicKeyFile: 'bob.key.pub.json' },
      ],
    });
    expect(config.operators.map((o) => o.id)).toEqual([1, 2]);
    const [alice, bob] = [operator(join(dir, 'alice.key'), ['operate', 'approve']), operator(join(dir, 'bob.key'), ['approve'])];
    const node = harness({ operators: [alice, bob], wallMs: Date.now() });
    const deliver = (file: string): void => {
      node.commanding.submit(new Uint8Array(readFileSync(join(dir, file))));
      node.run();
    };

    const ping = tern(['send', '7', 'PING', '42', '--key', 'alice.key', '--out', 'ping.cbor'], dir);
    expect(ping.status, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/^sent PING \(0x0502\) to node 7: operator 1 seq 1, 1 signature\(s\)/);
    deliver('ping.cbor');
    deliver('ping.cbor'); // a replay of the same file

    // Critical, signed by two operators in one send; the public key comes from carol's .pub.json.
    const add = tern(['send', '7', 'OPERATOR_ADD', 'operator=3', 'roles=operate', 'publicKey=@carol.key.pub.json', '--key', 'alice.key', '--key', 'bob.key', '--out', 'add.cbor'], dir);
    expect(add.status, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/operator 1 seq 2, 2 signature\(s\)/);
    deliver('add.cbor');

    // A sequence compiled from JSON by the ground tool, checked against the dictionary.
    writeFileSync(join(dir, 'seq.json'), JSON.stringify({ onFailure: 'stop', steps: [{ after: 0, command: 'ping', args: [7] }, { after: 20, command: 'NOOP' }] }));
    expect(tern(['send', '7', 'SEQ_UPLOAD', '0', '@seq.json', '--key', 'carol.key', '--out', 'seq.cbor'], dir).status).toBe(0);
    expect(tern(['send', '7', 'SEQ_START', '0', '--key', 'carol.key', '--out', 'start.cbor'], dir).status).toBe(0);
    deliver('seq.cbor');
    deliver('start.cbor');
    node.run(5, 10);

    expect(node.responses.map((r) => `${r.command}:${r.status}${r.reason ? `:${r.reason}` : ''}`)).toEqual([
      'PING:accepted', 'PING:executed', 'PING:rejected:CMD_REPLAY',
      'OPERATOR_ADD:accepted', 'OPERATOR_ADD:executed',
      'SEQ_UPLOAD:accepted', 'SEQ_UPLOAD:executed', 'SEQ_START:accepted', 'SEQ_START:executed',
      'PING:executed', 'NOOP:executed',
    ]);

    // Downlink: every response, the events, and a housekeeping record, as the node sends them.
    const items: DownlinkItem[] = [
      ...node.responses.map((record): DownlinkItem => ({ kind: 'rsp', record })),
      ...node.events.slice(0, 3).map((e): DownlinkItem => ({ kind: 'evt', record: { ...e, node: 7 } })),
      { kind: 'hk', record: { node: 7, seq: 0, frame: 12, mode: 'NOMINAL', channels: { 'cmd.accepted': node.value('cmd.accepted'), 'cmd.rejected.replay': node.value('cmd.rejected.replay'), 'cmd.backend': 0 } } },
    ];
    writeFileSync(join(dir, 'downlink.cbor'), Buffer.concat(items.map(encodeDownlink)));
    const shown = tern(['tlm', 'downlink.cbor'], dir);
    expect(shown.status, shown.stderr).toBe(0);
    const lines = shown.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/RSP node 7 PING executed op 1 seq 1 \[[0-9a-f]{16}\] \{"token":42,"timeMs":\d+\}$/);
    expect(lines[2]).toMatch(/RSP node 7 PING rejected CMD_REPLAY op 1 seq 1 .*: operator 1 sequence 1: already used$/);
    expect(lines).toContain('HK node 7 seq 0 frame 12 mode NOMINAL');
    expect(lines).toContain('  cmd.accepted = 4 commands');
    expect(lines).toContain('  cmd.rejected.replay = 1 envelopes [YELLOW]');
    expect(lines).toContain('  cmd.backend = noble');
    expect(lines.some((l) => /^t\+\d+\.\d{6}s EVT node 7 ACTIVITY CMD_STARTED \(0x0513\): Commanding up/.test(l))).toBe(true);
    const asJson = tern(['tlm', 'downlink.cbor', '--json'], dir).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(asJson[1]).toMatchObject({ kind: 'rsp', status: 'executed', result: { token: 42 } });
  });

  it('checks arguments against the dictionary before anything is signed or written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    expect(tern(['keygen', '--out', 'k', '--id', '4'], dir).status).toBe(0);
    const cases: Array<[string[], RegExp]> = [
      [['7', 'PING', 'token=-1'], /PING token: expected an integer in \[0, 4294967295\], got -1/],
      [['7', 'PING', '4294967296'], /PING token: expected an integer in \[0, 4294967295\], got 4294967296/],
      [['7', 'PING'], /PING \(arguments\): expected 1 argument\(s\) \(token\), got 0/],
      [['7', 'SET_MODE', 'panic'], /SET_MODE mode: expected one of BOOT, NOMINAL, SAFE, got "panic"/],
      [['7', 'SET_PARAM', 'x'.repeat(65), '1'], /SET_PARAM param: expected a string of at most 64 bytes/],
      [['7', 'OPERATOR_ADD', '5', 'OPERATE', 'hex:00ff'], /OPERATOR_ADD publicKey: expected exactly 1952 bytes, got 2 bytes/],
      [['7', 'FROB'], /unknown command "FROB"/],
      [['0', 'NOOP'], /NODE must be an integer/],
    ];
    for (const [args, message] of cases) {
      const run = tern(['send', ...args, '--key', 'k', '--out', 'never.cbor'], dir);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'never.cbor'))).toBe(false);
    expect(existsSync(join(dir, 'k.seq'))).toBe(false); // no sequence number spent either
    // Transport options are checked before a number is spent, and a station that is not there
    // is reported (nothing listens on port 1).
    const transport: Array<[string[], RegExp]> = [
      [[], /give --via HOST:PORT \(a ground-station node\), --out FILE or --bundle-out FILE/],
      [['--via', 'localhost:4610'], /--via must be an IP address and port such as 127.0.0.1:4610, got "localhost:4610"/],
      [['--via', '127.0.0.1:1', '--cla', 'ltp'], /--cla must be tcp or udp, got "ltp"/],
      [['--via', '127.0.0.1:1', '--out', 'x'], /give one of --via, --out and --bundle-out/],
      [['--out', 'x', '--bundle-out', 'y'], /give one of --via, --out and --bundle-out/],
    ];
    for (const [args, message] of transport) {
      const run = tern(['send', '7', 'NOOP', '--key', 'k', ...args], dir);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'k.seq'))).toBe(false);
    expect(tern(['send', '7', 'NOOP', '--key', 'k', '--via', '127.0.0.1:1'], dir)).toMatchObject({
      status: 1, stderr: expect.stringMatching(/ground station 127.0.0.1:1 did not take the command bundle: .*ECONNREFUSED/),
    });
    // A key file others can read is refused, as ssh refuses one.
    writeFileSync(join(dir, 'open.key'), readFileSync(join(dir, 'k')), { mode: 0o644 });
    expect(tern(['send', '7', 'NOOP', '--key', 'open.key', '--out', 'never.cbor'], dir).stderr).toMatch(/only its owner can read/);
    // A public key given for a secret one, or a key file that is not there: one line naming the
    // whole file, no stack trace.
    const missing = join(dir, 'a-directory-with-a-long-name-for-operator-keys', 'an-operator-key-that-is-not-there.key');
    const wrong: Array<[string, string]> = [
      ['k.pub.json', 'k.pub.json: format: expected a secret key file, not the public half (FILE.pub.json): give FILE, got "tern-public-key"'],
      [missing, `${missing}: (file): expected a readable tern-key file (tern gse keygen writes one), got "ENOENT: no such file or directory"`],
    ];
    for (const [key, line] of wrong) {
      const run = tern(['send', '7', 'NOOP', '--key', key, '--out', 'never.cbor'], dir);
      expect(run.status, key).toBe(2);
      expect(run.stderr).toBe(`tern gse send: ${line}\n`);
    }
  });

  it('dict writes the dictionary that send and tlm then read with --dict', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    const made = tern(['dict', '--out', 'dictionary.json'], dir);
    expect(made.status, made.stderr).toBe(0);
    const dictionary = readDictionary(join(dir, 'dictionary.json'));
    expect(made.stdout).toContain(dictionary.hash);
    expect(tern(['keygen', '--out', 'k', '--id', '9'], dir).status).toBe(0);
    const sent = tern(['send', '7', 'noop', '--key', 'k', '--dict', 'dictionary.json', '--out', '-'], dir);
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stderr).toMatch(/sent NOOP/);
    writeFileSync(join(dir, 'dictionary.json'), readFileSync(join(dir, 'dictionary.json'), 'utf8').replace('"PING"', '"PONG"'));
    expect(tern(['send', '7', 'NOOP', '--key', 'k', '--dict', 'dictionary.json', '--out', '-'], dir)).toMatchObject({ status: 2, stderr: expect.stringMatching(/hash: expected sha256/) });
  });

  it('cosign: a second operator is shown the command, then signs the same body bytes; no sequence number is spent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    keygen(dir, ['alice', 1], ['bob', 2], ['carol', 3]);
    expect(tern(['send', '7', 'SET_MODE', 'NOMINAL', '--key', 'alice.key', '--out', 'mode.cbor'], dir).status).toBe(0);
    const made = new Uint8Array(readFileSync(join(dir, 'mode.cbor')));

    const cosigned = tern(['cosign', 'mode.cbor', '--key', 'bob.key', '--pub', 'alice.key.pub.json'], dir);
    expect(cosigned.status, cosigned.stderr).toBe(0);
    const lines = cosigned.stdout.trim().split('\n');
    // What is approved comes first, then the verified signature, then the result.
    expect(lines.slice(0, 6)).toEqual([
      'mode.cbor: SET_MODE (0x0101) to node 7, critical when leaving SAFE',
      '  arguments   mode=NOMINAL',
      '  originator  operator 1 seq 1',
      expect.stringMatching(/^ {2}expires {5}\d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\)$/),
      expect.stringMatching(/^ {2}digest {6}[0-9a-f]{16}$/),
      expect.stringMatching(/^ {2}signed by {3}operator 1 \(key id [0-9a-f]{16}\)$/),
    ]);
    expect(lines[6]).toBe('  verified    operator 1 against alice.key.pub.json');
    const digest = lines[4]!.trim().split(/ +/)[1];
    expect(lines[7]).toMatch(new RegExp(`^cosigned SET_MODE \\(0x0101\\) to node 7 as operator 2: 2 signature\\(s\\), digest ${digest}, \\d+ bytes -> mode\\.cbor$`));

    const before = decodeEnvelope(made);
    const after = decodeEnvelope(new Uint8Array(readFileSync(join(dir, 'mode.cbor'))));
    expect(Buffer.from(after.bodyBytes).equals(Buffer.from(before.bodyBytes))).toBe(true);
    expect(after.signatures.map((s) => s.operator)).toEqual([1, 2]);
    expect(Buffer.from(after.signatures[0]!.signature).equals(Buffer.from(before.signatures[0]!.signature))).toBe(true);
    const context = commandContext(7);
    for (const [i, name] of [[0, 'alice'], [1, 'bob']] as const) {
      const key = readPublicKeyFile(join(dir, `${name}.key.pub.json`));
      expect(dsa.verify(key.publicKey, after.bodyBytes, after.signatures[i]!.signature, context), name).toBe(true);
    }
    // The body's seq is alice's: co-signing spends none of bob's numbers.
    expect(readFileSync(join(dir, 'alice.key.seq'), 'utf8')).toBe('1\n');
    expect(existsSync(join(dir, 'bob.key.seq'))).toBe(false);

    // --out leaves the input as it was; a third operator adds a third signature.
    const third = tern(['cosign', 'mode.cbor', '--key', 'carol.key', '--out', 'mode3.cbor'], dir);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/3 signature\(s\).* -> mode3\.cbor\n$/);
    expect(decodeEnvelope(new Uint8Array(readFileSync(join(dir, 'mode.cbor')))).signatures).toHaveLength(2);
    const three = decodeEnvelope(new Uint8Array(readFileSync(join(dir, 'mode3.cbor'))));
    expect(three.signatures.map((s) => s.operator)).toEqual([1, 2, 3]);
    expect(Buffer.from(three.bodyBytes).equals(Buffer.from(before.bodyBytes))).toBe(true);
    expect(existsSync(join(dir, 'carol.key.seq'))).toBe(false);
  });

  it('cosign refuses, writing nothing: expired, already signed, unknown opcode, bad arguments, malformed, a bad signature with --pub, too many signatures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    keygen(dir, ['alice', 1], ['bob', 2]);
    expect(tern(['send', '7', 'PING', '1', '--key', 'alice.key', '--out', 'ping.cbor'], dir).status).toBe(0);
    const ping = new Uint8Array(readFileSync(join(dir, 'ping.cbor')));
    const tampered = Uint8Array.from(ping);
    tampered[tampered.length - 1]! ^= 0x01; // last byte of alice's signature
    // Eight signatures by operators 10..17: there is no room for a ninth.
    const full = signEnvelope(
      dsa,
      encodeBody({ target: 7, operator: 10, seq: 1, expiryMs: Date.now() + 600_000, opcode: 0x0501, args: [] }),
      7,
      Array.from({ length: MAX_SIGNATURES }, (_, i) => {
        const seed = new Uint8Array(randomBytes(32));
        return { operator: 10 + i, seed, publicKey: dsa.publicKey(seed) };
      }),
    );
    const files: Record<string, Uint8Array> = {
      'ping.cbor': ping,
      'tampered.cbor': tampered,
      'full.cbor': full,
      'expired.cbor': handBuilt(dir, ['alice.key'], { expiryMs: Date.now() - 1000, opcode: 0x0501, args: [] }),
      'unknown.cbor': handBuilt(dir, ['alice.key'], { opcode: 0x7f7f, args: [] }),
      'badarg.cbor': handBuilt(dir, ['alice.key'], { opcode: 0x0502, args: [-1] }),
      'malformed.cbor': new TextEncoder().encode('not an envelope\n'),
      'truncated.cbor': ping.subarray(0, 100),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const cases: Array<[string[], RegExp]> = [
      [['expired.cbor', '--key', 'bob.key'], /^tern gse cosign: expired\.cbor: the command expired at \S+Z \(now \S+Z\)$/],
      [['ping.cbor', '--key', 'alice.key'], /^tern gse cosign: cannot co-sign: operator 1 has already signed this command$/],
      [['ping.cbor', '--key', 'bob.key', '--key', 'bob.key'], /^tern gse cosign: cannot co-sign: operator 2 has already signed this command$/],
      [['unknown.cbor', '--key', 'bob.key'], /^tern gse cosign: unknown\.cbor: opcode 0x7f7f is not in the dictionary sha256:[0-9a-f]{64} \(--dict FILE or --from DATA_DIR/],
      [['badarg.cbor', '--key', 'bob.key'], /^tern gse cosign: PING token: expected an integer in \[0, 4294967295\], got -1$/],
      [['malformed.cbor', '--key', 'bob.key'], /^tern gse cosign: malformed\.cbor: malformed command envelope: /],
      [['truncated.cbor', '--key', 'bob.key'], /^tern gse cosign: truncated\.cbor: malformed command envelope: envelope: CBOR refused at byte \d+: a string of \d+ bytes runs past the end/],
      [['missing.cbor', '--key', 'bob.key'], /^tern gse cosign: cannot read missing\.cbor: /],
      [['tampered.cbor', '--key', 'bob.key', '--pub', 'alice.key.pub.json'], /^tern gse cosign: tampered\.cbor: the signature of operator 1 \(key id [0-9a-f]{16}\) does not verify against alice\.key\.pub\.json/],
      [['ping.cbor', '--key', 'alice.key', '--pub', 'bob.key.pub.json'], /^tern gse cosign: bob\.key\.pub\.json: operator 2 has not signed ping\.cbor$/],
      [['ping.cbor', '--key', 'bob.key', '--pub', 'alice.key'], /^tern gse cosign: alice\.key: format: expected a tern-public-key ML-DSA-65 key file, got "tern-key"$/],
      [['full.cbor', '--key', 'bob.key'], /^tern gse cosign: cannot co-sign: 8 \+ 1 signatures exceed the 8 an envelope holds$/],
      [['ping.cbor'], /at least one --key FILE is required/],
      [['--key', 'bob.key'], /give one envelope FILE/],
    ];
    for (const [args, message] of cases) {
      const run = tern(['cosign', ...args, '--out', 'never.cbor'], dir);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr.trimEnd(), args.join(' ')).toMatch(message);
      // In place too: the file is left as it was.
      const inPlace = tern(['cosign', ...args], dir);
      expect(inPlace.status, args.join(' ')).toBe(2);
    }
    expect(existsSync(join(dir, 'never.cbor'))).toBe(false);
    for (const [name, bytes] of Object.entries(files)) expect(Buffer.from(readFileSync(join(dir, name))).equals(Buffer.from(bytes)), name).toBe(true);
    // Without --pub, a bad signature of another operator cannot be seen here (the node rejects it).
    expect(tern(['cosign', 'tampered.cbor', '--key', 'bob.key', '--out', 'unchecked.cbor'], dir).status).toBe(0);
  });

  it('send --envelope refuses options that would make another envelope, an expired file, and no --via', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-gse-'));
    keygen(dir, ['alice', 1]);
    expect(tern(['send', '7', 'PING', '1', '--key', 'alice.key', '--out', 'ping.cbor'], dir).status).toBe(0);
    writeFileSync(join(dir, 'expired.cbor'), handBuilt(dir, ['alice.key'], { expiryMs: Date.now() - 1000, opcode: 0x0501, args: [] }));
    const via = ['--via', '127.0.0.1:1'];
    const cases: Array<[string[], RegExp]> = [
      [['7', 'PING', '1', '--envelope', 'ping.cbor', ...via], /--envelope FILE is sent as it is, its body names the node, command and expiry: drop NODE COMMAND ARGS$/],
      [['--envelope', 'ping.cbor', '--key', 'alice.key', '--seq', '9', '--expires', '60', ...via], /: drop --key, --seq, --expires$/],
      [['--envelope', 'ping.cbor', '--out', 'copy.cbor'], /: drop --out$/],
      [['--envelope', 'ping.cbor'], /--envelope FILE needs --via HOST:PORT/],
      [['--envelope', 'expired.cbor', ...via], /^tern gse send: expired\.cbor: the command expired at /],
    ];
    for (const [args, message] of cases) {
      const run = tern(['send', ...args], dir);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.trimEnd(), args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'copy.cbor'))).toBe(false);
    expect(readFileSync(join(dir, 'alice.key.seq'), 'utf8')).toBe('1\n');
    // A valid file does go to the station (none listens on port 1 here: the e2e test has one).
    expect(tern(['send', '--envelope', 'ping.cbor', ...via], dir)).toMatchObject({
      status: 1, stderr: expect.stringMatching(/ground station 127.0.0.1:1 did not take the command bundle: .*ECONNREFUSED/),
    });
  });
});
