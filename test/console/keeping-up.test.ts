// The page keeps up with 10 nodes at 10 Hz: ten simulated nodes, each on its own TCPCLv4
// session, send the console a housekeeping record of 250 channels every 100 ms for 20 s. The
// page (chromium, live plot of exec.frames drawing every node) must have every record of every
// node, none dropped; the lag from archive to page and the page's render rate are reported in
// test/bench/results/console-page.json (measured here, not judged: timing is the benchmarks').
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type { TcpCla } from '../../flight/cla/tcpcl.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { CreationClock } from '../../flight/dtn/creation.js';
import { ipn } from '../../flight/dtn/eid.js';
import { encodeDownlink } from '../../flight/tlm/downlink-items.js';
import { percentile, writeResult } from '../bench/results.js';
import { freePort, GroundPeer } from '../support/mission.js';
import { killAll, startTern, type TernProcess } from '../support/node-process.js';
import { eventually, tick } from '../support/wait.js';
import { consolePage, launchBrowser, screenshot } from './browser.js';
import { hk } from './support.js';

const NODES = 10;
const HZ = 10;
const SECONDS = Number(process.env.TERN_CONSOLE_LOAD_SECONDS ?? 20);
const CHANNELS = 250;

// Callbacks of page.evaluate and waitForFunction run in the page; its globals are typed loosely
// here because the tests compile without the DOM library.
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

let console_: TernProcess | undefined;
let browser: BrowserContext | undefined;
const peers: GroundPeer[] = [];
afterAll(async () => {
  await browser?.close();
  for (const p of peers) await p.close();
  killAll([console_]);
});

function record(node: number, seq: number): Uint8Array {
  const channels: Record<string, number> = { 'exec.frames': seq * 5 + node };
  for (let i = 1; i < CHANNELS; i++) channels[`sim.ch${i}`] = (seq * i) % 1000;
  return encodeDownlink(hk(node, seq, channels));
}

it(`the page shows every record of ${NODES} nodes at ${HZ} Hz`, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tern-console-load-'));
  const dtnPort = await freePort();
  console_ = startTern(['gse', 'console', '--listen', `127.0.0.1:${await freePort()}`, '--dtn', `127.0.0.1:${dtnPort}`, '--archive', join(cwd, 'archive')], {}, cwd);
  await console_.waitForLine((l) => l.msg === 'console listening');
  const loginUrl = await eventually(() => console_!.stderr.map((l) => /open (http\S+)/.exec(l)?.[1]).find(Boolean), 'the login link');
  browser = await launchBrowser();
  const { page, errors } = await consolePage(browser);
  await page.goto(loginUrl);
  await page.waitForSelector('body[data-ready=true]');
  await page.click('nav button[data-tab=telemetry]');

  const sessions: Array<Awaited<ReturnType<TcpCla['connect']>>> = [];
  for (let n = 1; n <= NODES; n++) {
    const peer = new GroundPeer(1000 + n);
    peers.push(peer);
    sessions.push(await peer.tcp.connect('127.0.0.1', dtnPort));
  }
  const clock = CreationClock.randomStart();
  const acks: Array<Promise<void>> = [];
  const t0 = Date.now();
  const periods = SECONDS * HZ;
  for (let k = 0; k < periods; k++) {
    // Absolute deadlines: a late tick does not push the next one back.
    const wait = t0 + (k * 1000) / HZ - Date.now();
    if (wait > 0) await tick(wait);
    for (let n = 1; n <= NODES; n++) {
      const stamp = clock.stamp();
      const bundle = createBundle({
        destination: ipn(100, 2), source: ipn(1000 + n, 2), creationTime: stamp.time, sequence: stamp.sequence,
        lifetime: 60_000, blocks: [], payload: record(1000 + n, k),
      }).bytes;
      acks.push(sessions[n - 1]!.send(bundle));
    }
  }
  const sendSeconds = (Date.now() - t0) / 1000;
  await Promise.all(acks);
  const ackedSeconds = (Date.now() - t0) / 1000;
  const stats = await eventually(async () => {
    const s = await page.evaluate(() => window.ternStats as { hk: Record<string, number>; renders: number; lagMs: number[] });
    return Object.values(s.hk).reduce((a, b) => a + b, 0) >= NODES * periods ? s : undefined;
  }, 'every record on the page', 60_000);
  const shownSeconds = (Date.now() - t0) / 1000;
  await page.waitForFunction((n) => document.querySelectorAll('.plot[data-channel="exec.frames"] .u-series').length === n + 1, NODES);
  await screenshot(page, '9-ten-nodes-at-10hz');

  for (let n = 1; n <= NODES; n++) expect(stats.hk[1000 + n], `node ${1000 + n}`).toBe(periods);
  expect(errors).toEqual([]);
  const lag = [...stats.lagMs].sort((a, b) => a - b);
  writeResult('console-page', {
    nodes: NODES, hz: HZ, seconds: SECONDS, channelsPerRecord: CHANNELS, records: NODES * periods,
    recordsOnPage: Object.values(stats.hk).reduce((a, b) => a + b, 0), dropped: NODES * periods - Object.values(stats.hk).reduce((a, b) => a + b, 0),
    sendSeconds, ackedSeconds, shownSeconds,
    lagMsP50: percentile(lag, 0.5), lagMsP99: percentile(lag, 0.99), lagMsMax: lag[lag.length - 1],
    pageRendersPerSecond: stats.renders / shownSeconds,
  });
}, 240_000);
