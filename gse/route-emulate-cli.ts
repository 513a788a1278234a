// `tern route emulate --config FILE`: runs the link emulator (link-emulator.ts) for a local
// mission until SIGINT or SIGTERM, printing each crossing, refusal, cut and drop as a JSON line.
//
//   {"plan": "plan.json", "epoch": "mission-start", "timeScale": 60, "lossRate": 0.01,
//    "links": [{"from": 10, "to": 20, "cla": "tcp", "listen": "127.0.0.1:4710", "target": "127.0.0.1:4620"}]}
//
// `plan` is relative to FILE; `epoch` as a node's contactPlan.epoch (flight/route/config.ts).
// Addresses must be loopback: the emulator relays between processes on this machine only.
import { dirname, resolve } from 'node:path';
import { Fields, join, readJsonFile } from '../flight/config/fields.js';
import { MISSION_EPOCH_ENV } from '../flight/route/config.js';
import { readPlanFile } from '../flight/route/plan-load.js';
import { LinkEmulator, type EmulatedLink } from './link-emulator.js';
import type { RouteAction } from './route-cli.js';

const USAGE = `usage: tern route emulate --config FILE

Relays between the node processes of a local mission as the contact plan allows: links only
inside contacts (TCP connections cut when the contact ends, datagrams outside one dropped), each
contact's one-way light time and rate, a datagram loss rate, at the mission's time scale.
FILE: {"plan", "epoch" ("mission-start" | ISO), "timeScale", "lossRate", "links": [{"from",
"to", "cla" ("tcp" | "udp"), "listen", "target"}]}. Prints one JSON line per event.

example:
  tern route emulate --config emulator.json`;

const LOOPBACK = /^(127\.0\.0\.1|\[::1\]):(\d{1,5})$/;

function address(f: Fields, value: unknown, field: string): { host: string; port: number } {
  const text = f.string(value, field);
  const m = LOOPBACK.exec(text);
  if (!m) return f.fail(field, 'a loopback address such as "127.0.0.1:4710"', text);
  return { host: m[1] === '[::1]' ? '::1' : m[1]!, port: f.integer(Number(m[2]), field, 0, 65535) };
}

export function readEmulatorConfig(file: string, env: NodeJS.ProcessEnv = process.env): ConstructorParameters<typeof LinkEmulator>[0] {
  const f = new Fields(file);
  const top = f.object(readJsonFile(file, 'emulator config'), '', ['plan', 'epoch', 'timeScale', 'lossRate', 'links']);
  let epochMs: number | undefined;
  if (top.epoch === 'mission-start') {
    const raw = env[MISSION_EPOCH_ENV];
    epochMs = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : f.fail('epoch', `"mission-start" with ${MISSION_EPOCH_ENV} set`, raw ?? 'unset');
  } else if (top.epoch !== undefined) {
    epochMs = Date.parse(f.string(top.epoch, 'epoch'));
    if (Number.isNaN(epochMs)) f.fail('epoch', 'an ISO 8601 UTC time or "mission-start"', top.epoch);
  }
  const plan = readPlanFile(resolve(dirname(file), f.string(top.plan, 'plan')), epochMs === undefined ? {} : { epochMs });
  epochMs ??= plan.epochMs ?? f.fail('epoch', 'an epoch (the plan has none)');
  const lossRate = top.lossRate === undefined ? 0 : Number(top.lossRate);
  if (!(lossRate >= 0 && lossRate < 1)) f.fail('lossRate', 'a probability in [0, 1)', top.lossRate);
  const links = f.array(top.links, 'links').map((raw, i): EmulatedLink => {
    const at = `links[${i}]`;
    const l = f.object(raw, at, ['from', 'to', 'cla', 'listen', 'target']);
    return {
      from: f.integer(l.from, join(at, 'from'), 1), to: f.integer(l.to, join(at, 'to'), 1),
      cla: f.oneOf(l.cla, join(at, 'cla'), ['tcp', 'udp'] as const),
      listen: address(f, l.listen, join(at, 'listen')), target: address(f, l.target, join(at, 'target')),
    };
  });
  return {
    plan, epochMs, links, lossRate,
    timeScale: top.timeScale === undefined ? 1 : f.integer(top.timeScale, 'timeScale', 1, 100_000),
  };
}

async function emulate(values: Record<string, string | boolean | undefined>): Promise<undefined> {
  const file = values.config;
  if (typeof file !== 'string') throw new Error('--config FILE is required');
  const emulator = new LinkEmulator({ ...readEmulatorConfig(file), record: (r) => console.log(JSON.stringify(r)) });
  await emulator.start();
  console.log(JSON.stringify({ kind: 'listening', links: emulator.addresses() }));
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await emulator.close();
  console.log(JSON.stringify({ kind: 'stopped', counters: emulator.counters }));
  return undefined;
}

export const EMULATE_ACTION: RouteAction = { usage: USAGE, options: { config: { type: 'string' } }, run: emulate };
