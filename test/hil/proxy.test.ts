// The fault-injecting serial proxy: each fault on its own, counted and seeded, in a lane fed
// directly; then `tern hil proxy` as a child process between two pseudo-terminal pairs.
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProxyArgs } from '../../gse/hil-cli.js';
import { HilInputError } from '../../hil/errors.js';
import { Lane, Seeded, SerialProxy, type ProxyFaults } from '../../hil/proxy.js';
import { ptyPair, type PtyPair } from '../cla/serial-support.js';
import { Prng } from '../support/prng.js';
import { runTern, startTern, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';

const NONE: ProxyFaults = { ber: 0, drop: 0, delayMs: 0 };
const ASM = [0x1a, 0xcf, 0xfc, 0x1d];

/** A lane at a very high baud whose output the test collects; `down` says when it is disconnected. */
function lane(faults: Partial<ProxyFaults>, seed = 1, down: (now: number) => boolean = () => false): { lane: Lane; out: number[] } {
  const out: number[] = [];
  return { lane: new Lane({ ...NONE, ...faults }, 100_000_000, new Seeded(seed), down, (b) => out.push(...b)), out };
}

/** `n` blocks of a marker and 96 bytes of block number (no marker inside). */
function blocks(n: number): Uint8Array {
  return Uint8Array.from(Array.from({ length: n }, (_, i) => [...ASM, ...new Array<number>(96).fill(i & 0x7f)]).flat());
}

describe('serial proxy lanes', () => {
  it('passes bytes unchanged with no faults', async () => {
    const { lane: l, out } = lane({});
    const data = new Prng(1).bytes(10_000);
    l.push(data.subarray(0, 3333));
    l.push(data.subarray(3333));
    await until(() => out.length === data.length, 'every byte out');
    expect(Uint8Array.from(out)).toEqual(data);
  });

  it('flips bits at the bit error rate, the same bits for the same seed', async () => {
    const runs = [1, 1, 2].map((seed) => {
      const { lane: l, out } = lane({ ber: 1e-3 }, seed);
      l.push(new Uint8Array(50_000));
      return { l, out };
    });
    await until(() => runs.every((r) => r.out.length === 50_000), 'all out');
    const flipped = runs[0]!.l.stats.bitsFlipped;
    expect(flipped).toBeGreaterThan(300); // 400,000 bits at 1e-3
    expect(flipped).toBeLessThan(500);
    expect(runs[0]!.out.reduce((n, b) => n + popcount(b), 0)).toBe(flipped);
    expect(runs[1]!.out).toEqual(runs[0]!.out);
    expect(runs[2]!.out).not.toEqual(runs[0]!.out);
  });

  it('corrupts one burst of LEN bytes in each PERIOD', async () => {
    const { lane: l, out } = lane({ burst: { length: 50, period: 1000 } });
    l.push(new Uint8Array(10_000));
    await until(() => out.length === 10_000, 'all out');
    expect(l.stats.bursts).toBe(10);
    for (let p = 0; p < 10; p++) {
      const window = out.slice(p * 1000, (p + 1) * 1000);
      const first = window.findIndex((b) => b !== 0);
      const last = window.length - 1 - [...window].reverse().findIndex((b) => b !== 0);
      expect(last - first).toBeLessThan(50);
    }
  });

  it('drops whole code blocks, marker included, at the drop probability', async () => {
    const { lane: l, out } = lane({ drop: 0.3 }, 7);
    const input = blocks(200);
    for (let at = 0; at < input.length; at += 77) l.push(input.subarray(at, at + 77));
    await until(() => out.length === input.length - l.stats.blocksDropped * 100, 'the kept blocks out');
    expect(l.stats.blocksSeen).toBe(200);
    expect(l.stats.blocksDropped).toBeGreaterThan(40);
    expect(l.stats.blocksDropped).toBeLessThan(80);
    // What is left is whole blocks, each a marker and its own bytes.
    for (let at = 0; at < out.length; at += 100) {
      expect(out.slice(at, at + 4)).toEqual(ASM);
      expect(new Set(out.slice(at + 4, at + 100)).size).toBe(1);
    }
  });

  it('delays bytes and loses what comes during a disconnect', async () => {
    let down = false;
    const { lane: l, out } = lane({ delayMs: 150 }, 1, () => down);
    const sent = performance.now();
    l.push(new Uint8Array(100).fill(1));
    await until(() => out.length === 100, 'the delayed bytes');
    expect(performance.now() - sent).toBeGreaterThanOrEqual(149);
    down = true;
    l.push(new Uint8Array(100).fill(2));
    down = false;
    l.push(new Uint8Array(10).fill(3));
    await until(() => out.length === 110, 'the bytes after the disconnect');
    expect(l.stats.bytesLostToDisconnect).toBe(100);
    expect(out.slice(100)).toEqual(new Array(10).fill(3));
  });

  it('names the option of every mistake on the command line', () => {
    const cases: Array<[string[], string]> = [
      [['--b', '/dev/x'], '--a: expected a serial device path'],
      [['--a', '/dev/x', '--b', 'tty'], '--b: expected a serial device path'],
      [['--a', '/dev/x', '--b', '/dev/y', '--ber', 'lots'], '--ber: expected a bit error rate'],
      [['--a', '/dev/x', '--b', '/dev/y', '--burst', '50'], '--burst: expected LEN/PERIOD'],
      [['--a', '/dev/x', '--b', '/dev/y', '--burst', '500/50'], '--burst: expected LEN/PERIOD'],
      [['--a', '/dev/x', '--b', '/dev/y', '--drop', '2'], '--drop: expected a probability'],
      [['--a', '/dev/x', '--b', '/dev/y', '--disconnect', '10'], '--disconnect: expected AT/FOR'],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseProxyArgs(argv)).toThrow(HilInputError);
      expect(() => parseProxyArgs(argv)).toThrow(message);
    }
    expect(parseProxyArgs(['--a', '/dev/x', '--b', '/dev/y', '--ber', '1e-4', '--burst', '50/2000', '--drop', '0.01', '--disconnect', '30/10', '--delay', '5'])).toEqual({
      a: '/dev/x', b: '/dev/y', baud: 115_200, ber: 1e-4, drop: 0.01, delayMs: 5, seed: 1, statsEveryS: 10,
      burst: { length: 50, period: 2000 }, disconnect: { atS: 30, forS: 10 },
    });
  });
});

describe('tern hil proxy', () => {
  const opened: Array<() => Promise<void>> = [];
  let proxy: TernProcess | undefined;
  afterEach(async () => {
    if (proxy && proxy.child.exitCode === null) proxy.child.kill('SIGKILL');
    proxy = undefined;
    for (const close of opened.splice(0)) await close();
  });

  async function open(path: string): Promise<{ port: SerialPort; received: number[] }> {
    const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    const received: number[] = [];
    port.on('data', (chunk: Buffer) => received.push(...chunk));
    // A write the test left in flight is cancelled when the port closes after the test.
    port.on('error', () => {});
    opened.push(() => new Promise((resolve) => port.close(() => resolve())));
    return { port, received };
  }

  it('passes bytes both ways between two ports, paced, and prints its counters when ended', async () => {
    const pairs: PtyPair[] = [await ptyPair(), await ptyPair()];
    for (const p of pairs) opened.push(() => p.close());
    proxy = startTern(['hil', 'proxy', '--a', pairs[0]!.b, '--b', pairs[1]!.b, '--baud', '115200', '--stats-every', '0.2']);
    await proxy.waitForLine((l) => l.event === 'ready');
    const left = await open(pairs[0]!.a);
    const right = await open(pairs[1]!.a);
    const data = new Prng(3).bytes(5000);
    left.port.write(Buffer.from(data));
    right.port.write(Buffer.from(data.subarray(0, 100)));
    await until(() => right.received.length === 5000 && left.received.length === 100, 'bytes across both ways');
    expect(Uint8Array.from(right.received)).toEqual(data);
    proxy.child.kill('SIGTERM');
    expect((await proxy.exited).code).toBe(0);
    const last = proxy.lines.at(-1) as { event: string; aToB: { bytesOut: number }; bToA: { bytesOut: number } };
    expect(last.event).toBe('stats');
    expect(last.aToB.bytesOut).toBe(5000);
    expect(last.bToA.bytesOut).toBe(100);
  });

  it('closes with writes still in flight without an error escaping: they are counted as cancelled', async () => {
    // Nobody reads B's far end, so the pseudo-terminal fills and the proxy's writes to B wait.
    // Closing cancels them; unheard, that port error was thrown and killed a bench runner with its
    // node and socat still running.
    const pairs: PtyPair[] = [await ptyPair(), await ptyPair()];
    for (const p of pairs) opened.push(() => p.close());
    const running = new SerialProxy({ a: pairs[0]!.b, b: pairs[1]!.b, baud: 12_000_000, seed: 1, ber: 0, drop: 0, delayMs: 0 });
    await running.start();
    const left = await open(pairs[0]!.a);
    left.port.write(Buffer.from(new Prng(4).bytes(1_000_000)));
    await until(() => running.stats().aToB.bytesOut > 100_000, 'the proxy writing to B');
    await running.close();
    await until(() => running.stats().cancelledAtClose > 0, 'the cancelled writes to report');
    expect(running.stats().portErrors).toBe(0);
  });

  it('exits 2 naming the option when one is wrong', async () => {
    const result = await runTern(['hil', 'proxy', '--a', '/dev/x', '--b', '/dev/y', '--drop', 'often'], process.cwd());
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ code: 'HIL_BAD_INPUT', error: expect.stringContaining('--drop') });
  });
});

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}
