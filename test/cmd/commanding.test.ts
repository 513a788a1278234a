// Commanding as the composition root assembles it: unbound handlers refused, the node's
// dictionary from its live telemetry registry, and BPSec session keys from the config.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Commanding } from '../../flight/cmd/commanding.js';
import type { CmdConfig } from '../../flight/cmd/config.js';
import { CMD_EVENTS } from '../../flight/cmd/dictionary.js';
import { readDictionary, writeDictionary } from '../../flight/cmd/export.js';
import { InThreadCrypto } from '../../flight/cmd/handshake-crypto.js';
import { writeKeyFiles } from '../../flight/cmd/keyfile.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { EXEC_EVENTS } from '../../flight/exec/dictionary.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { spec, testOperator } from './support/harness.js';

const A = testOperator(1);
const B = testOperator(2);
const log = createRootLogger({ level: 'silent' });

function commanding(node: number, dataDir: string, session?: CmdConfig['session'], outbox: Uint8Array[] = []): { c: Commanding; tlm: TelemetryRegistry } {
  const tlm = new TelemetryRegistry();
  const config: CmdConfig = {
    approvals: 2, operators: [spec(A), spec(B)], backend: 'noble',
    dispatch: { budgetUs: 20_000, queue: 8, envelopesPerSlot: 4, verificationsPerSlot: 2, executionsPerSlot: 2, pendingApprovals: 2 },
    sequence: { budgetUs: 1000, stepsPerSlot: 2 },
    ...(session ? { session } : {}),
  };
  const c = new Commanding({
    node, dataDir, config, tlm, events: new EventLog(log, () => 0), log, clock: new VirtualClock(), wallMs: () => 1_900_000_000_000,
    sendHandshake: async (_peer, wire) => void outbox.push(wire),
    handshakeCrypto: (dsa, seed) => new InThreadCrypto(dsa, seed),
  });
  return { c, tlm };
}

describe('commanding composition', () => {
  it('refuses to hand out its tasks while a declared command has no handler', () => {
    const { c } = commanding(7, mkdtempSync(join(tmpdir(), 'tern-comp-')));
    expect(() => c.tasks()).toThrow('commands without a handler: SET_MODE, LIST_BUNDLES (bind them at composition)');
    c.bind('SET_MODE', { handler: () => undefined, critical: () => false });
    c.bind('LIST_BUNDLES', { handler: () => undefined });
    expect(c.tasks().map((t) => t.name)).toEqual(['cmd.dispatch', 'cmd.sequence']);
  });

  it('exports the node dictionary from its registry and event lists, where `--from DATA_DIR` reads it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-comp-'));
    const { c, tlm } = commanding(7, dir);
    tlm.define({ name: 'dtn.stored', type: 'u32', units: 'bundles', doc: 'Bundles in the store' });
    c.declare({ dtnFlush: { name: 'DTN_FLUSH', opcode: 0x0302, owner: 'dtn', criticality: 'normal', args: [], doc: 'Flushes' } });
    const file = writeDictionary(dir, c.dictionary(tlm.all().map((ch) => ch.def), [...Object.values(EXEC_EVENTS), ...Object.values(CMD_EVENTS)]));
    const d = readDictionary(file);
    expect(d.channels.map((ch) => ch.name)).toContain('dtn.stored');
    expect(d.channels.map((ch) => ch.name)).toContain('cmd.rejected.badSignature');
    expect(d.commands.map((cmd) => cmd.name)).toContain('DTN_FLUSH');
    expect(d.parameters.map((p) => p.name)).toContain('cmd.maxLifetimeS');
  });

  it('builds BPSec session keys from the session config; two nodes agree on keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-comp-'));
    writeKeyFiles(join(dir, 'node-7.key'), { id: 7, name: 'node-7', seed: A.seed, publicKey: A.publicKey });
    writeKeyFiles(join(dir, 'node-8.key'), { id: 8, name: 'node-8', seed: B.seed, publicKey: B.publicKey });
    const session = (own: string, peer: number, key: Uint8Array): CmdConfig['session'] => ({
      identityKeyFile: join(dir, own), peers: new Map([[peer, { publicKey: key, gatewayFor: new Set<number>() }]]), gatewayFor: new Set(), rekeyS: 3600, rekeyBlocks: 1000, offerMaxAgeS: 600,
      offerRetryS: 60, handshakesPerMinute: 30,
    });
    const toEight: Uint8Array[] = [];
    const toSeven: Uint8Array[] = [];
    const seven = commanding(7, join(dir, 'n7'), session('node-7.key', 8, B.publicKey), toEight);
    const eight = commanding(8, join(dir, 'n8'), session('node-8.key', 7, A.publicKey), toSeven);
    expect(seven.c.sessions!.sealFor(8)).toBeUndefined();
    await vi.waitUntil(() => toEight.length === 1);
    await eight.c.sessions!.receive(toEight.pop()!);
    await seven.c.sessions!.receive(toSeven.pop()!);
    const key = seven.c.sessions!.sealFor(8)!.key;
    expect(eight.c.sessions!.openingKeys()).toEqual([{ ...key, kid: 'ipn:7.0', ops: ['decrypt'] }]);
    expect(seven.tlm.get('cmd.session.rekeys')!.value).toBe(1);
    expect(seven.tlm.get('cmd.session.offers')!.value).toBe(1);
  });
});
