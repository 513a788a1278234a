// The link emulator on real sockets on 127.0.0.1 with its clock in the test's hands: datagrams
// and TCP connections only inside the plan's contacts, datagram loss at the configured rate,
// connections cut at the contact's end.
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../../flight/route/plan-load.js';
import { LinkEmulator, type EmulatorRecord } from '../../gse/link-emulator.js';
import { until } from '../support/wait.js';

const EPOCH = Date.UTC(2026, 0, 1);
const plan = parsePlan(JSON.stringify({
  format: 'tern-contact-plan/1',
  contacts: [{ from: 1, to: 2, start: 10, end: 20, rate: 1_000_000, owlt: 0.01 }, { from: 2, to: 1, start: 10, end: 20, rate: 1_000_000, owlt: 0.01 }],
}), { source: 'test', epochMs: EPOCH });

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('link emulator', () => {
  it('drops datagrams outside contacts, and at the loss rate inside them', async () => {
    const clock = { t: 5 };
    const target = createSocket('udp4');
    const got: Buffer[] = [];
    target.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => target.bind(0, '127.0.0.1', resolve));
    const draws = [0.9, 0.1, 0.9];
    const records: EmulatorRecord[] = [];
    const emulator = new LinkEmulator({
      plan, epochMs: EPOCH, timeScale: 1000, lossRate: 0.5, random: () => draws.shift()!, now: () => EPOCH + clock.t, // at 1000x, a plan second is a millisecond
      links: [{ from: 1, to: 2, cla: 'udp', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: target.address().port } }],
      record: (r) => records.push(r),
    });
    await emulator.start();
    closers.push(() => emulator.close(), () => void target.close());
    const sender = createSocket('udp4');
    closers.push(() => void sender.close());
    const send = (text: string): Promise<void> => new Promise((resolve) => sender.send(text, emulator.addresses()[0]!.port, '127.0.0.1', () => resolve()));
    await send('before the contact');
    await until(() => emulator.counters.droppedWindow === 1, 'the datagram outside the contact to be dropped');
    clock.t = 12; // plan second 12: inside 10-20
    for (const text of ['one', 'two', 'three']) await send(text);
    await until(() => got.length === 2 && emulator.counters.droppedLoss === 1, 'two of three datagrams through, one lost');
    expect(got.map(String)).toEqual(['one', 'three']);
    expect(records.filter((r) => r.kind === 'crossed').map((r) => r.planTime)).toEqual([12, 12]);
  });

  it('refuses TCP connections outside contacts and cuts them at the end, losing what is still on the way', async () => {
    const clock = { t: 5 };
    const received: Buffer[] = [];
    const server: Server = createServer((s) => s.on('data', (d) => received.push(d)).on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // 1000 plan seconds per second: the contact's last 8 plan seconds are 8 ms of real time.
    const emulator = new LinkEmulator({
      plan, epochMs: EPOCH, timeScale: 1000, now: () => EPOCH + clock.t,
      links: [{ from: 1, to: 2, cla: 'tcp', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (server.address() as { port: number }).port } }],
    });
    await emulator.start();
    closers.push(() => emulator.close(), () => new Promise<void>((resolve) => server.close(() => resolve())));
    const connect = (): Socket => createConnection(emulator.addresses()[0]!.port, '127.0.0.1').on('error', () => undefined);
    const early = connect();
    await until(() => emulator.counters.refused === 1 && early.destroyed, 'the connection before the contact to be refused');
    clock.t = 12;
    const inside = connect();
    await new Promise<void>((resolve) => inside.once('connect', resolve));
    inside.write('hello');
    await until(() => Buffer.concat(received).toString() === 'hello', 'the bytes to cross inside the contact');
    // The clock is not moved: the cut comes when the contact's end is due in real time (8 ms).
    await until(() => emulator.counters.cut === 1 && inside.destroyed, 'the connection to be cut at the end of the contact');
  });
});
