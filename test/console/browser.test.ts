// The ground console in a real browser (Debian's chromium via playwright-core) on a running
// local mission: the local mission's three nodes on free ports, sat-20 needing two operators'
// approvals, and `tern gse console` joined as the ground node. An operator's steps: watch the
// overview's values change, see a plot draw, send a PING and see its response, filter events,
// co-sign a critical command with a second operator's key (tern gse cosign on "their machine"),
// export CSV. A screenshot of each page goes to test/console/output/.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFiles } from '../../flight/cmd/keyfile.js';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { ensureMissionDirCerts } from '../../gse/mission.js';
import { copyMissionWithFreePorts, freePort } from '../support/mission.js';
import { killAll, REPO, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { openConsole, screenshot } from './browser.js';

// Callbacks of page.evaluate and waitForFunction run in the page; its globals are typed loosely
// here because the tests compile without the DOM library.
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

let cwd: string;
let dir: string;
let nodes: TernProcess[] = [];
let consoleProcess: TernProcess;
let browser: BrowserContext;
let page: Page;
let errors: string[];

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tern-console-e2e-'));
  dir = join(cwd, 'local');
  await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  ensureMissionDirCerts(dir); // the station's and the console's TLS files, as tern mission makes them
  // A second operator, bob, whose key stays on "his machine" (this folder); sat-20 needs both.
  const dsa = mlDsa('ML-DSA-65');
  const seed = new Uint8Array(32).fill(7);
  writeKeyFiles(join(dir, 'keys/bob.key'), { id: 2, name: 'bob', seed, publicKey: dsa.publicKey(seed) });
  const sat20 = readJson(join(dir, 'sat-20.json'));
  sat20.cmd.approvals = 2;
  sat20.cmd.operators.push({ id: 2, name: 'bob', roles: ['approve'], publicKeyFile: 'keys/bob.key.pub.json' });
  writeFileSync(join(dir, 'sat-20.json'), JSON.stringify(sat20, null, 2));
  for (const key of readdirSync(join(dir, 'keys')).filter((n) => n.endsWith('.key'))) chmodSync(join(dir, 'keys', key), 0o600);
  const mission = readJson(join(dir, 'mission.json'));
  const station = readJson(join(dir, 'ground-10.json')).cla.tcp.listen as string;
  nodes = (mission.nodes as string[]).map((file) => startTern(['flight', '--config', join(dir, file)], {}, cwd));
  for (const n of nodes) await n.waitForLine((l) => l.msg === 'node started', 60_000);
  ({ process: consoleProcess, browser, page, errors } = await openConsole([
    '--listen', `127.0.0.1:${await freePort()}`, '--dtn', mission.console.listen, '--node', String(mission.console.node), '--dtn-tls', join(dir, 'certs'),
    '--archive', join(cwd, 'archive'), '--key', join(dir, 'keys/demo-operator.key'), '--via', station,
    // sat-20's own dictionary (written at its start): every channel's units and limits.
    '--from', join(cwd, 'var/mission/sat-20'),
  ], {}, cwd));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  killAll([...nodes, consoleProcess]);
});

const tab = (name: string) => page.click(`nav button[data-tab=${name}]`);

describe('ground console in chromium', () => {
  it('overview: every node appears, its values change with each housekeeping record', async () => {
    for (const node of [10, 20, 21]) await page.waitForSelector(`#nodes tr[data-node="${node}"]`, { timeout: 60_000 });
    await page.click('#nodes tr[data-node="20"]');
    const frames = () => page.textContent('#values tr[data-channel="exec.frames"] td.value');
    const first = Number(await frames());
    await page.waitForFunction((before) => Number(document.querySelector('#values tr[data-channel="exec.frames"] td.value')?.textContent) > before, first, { timeout: 30_000 });
    expect(await page.textContent('#nodes tr[data-node="20"] td:nth-child(2)')).toBe('NOMINAL');
    expect(await page.textContent('#link')).toBe('live');
    await screenshot(page, '1-overview');
  });

  it('telemetry: the exec.frames plot draws live points', async () => {
    await tab('telemetry');
    const plot = '.plot[data-channel="exec.frames"]';
    await page.waitForSelector(`${plot} canvas`);
    // uPlot's legend shows each node's series once data for it has arrived.
    await page.waitForFunction((sel) => document.querySelectorAll(`${sel} .u-series`).length >= 4, plot, { timeout: 30_000 });
    const drawn = await page.evaluate(() => window.ternStats.hk as Record<string, number>);
    expect(Object.keys(drawn).map(Number).sort()).toEqual([10, 20, 21]);
    await screenshot(page, '2-telemetry');
  });

  it('commands: a PING to node 21 (two hops out) is signed, sent and answered with its token', async () => {
    await tab('commands');
    await page.fill('#cmd-node', '21');
    await page.selectOption('#cmd-name', 'PING');
    await page.fill('#arg-token', '4242');
    await page.click('#cmd-send');
    await page.waitForSelector('#cmd-result.ok');
    const digest = /sent ([0-9a-f]{16})/.exec((await page.textContent('#cmd-result'))!)![1]!;
    const row = `#history tr[data-digest="${digest}"]`;
    await page.waitForSelector(`${row} .badge.executed`, { timeout: 60_000 });
    expect(await page.textContent(`${row} td.response`)).toContain('"token":4242');
    expect(await page.textContent(`${row} td:nth-child(6)`)).toContain('demo');
    // An argument out of its range is refused before anything is signed, with the reason.
    await page.fill('#arg-token', '-5');
    await page.click('#cmd-send');
    await page.waitForSelector('#cmd-result.error');
    expect(await page.textContent('#cmd-result')).toMatch(/refused: .*token/);
    await screenshot(page, '3-commands');
  });

  it('events: filtered by node, severity and text', async () => {
    await tab('events');
    await page.selectOption('#ev-node', '21');
    await page.fill('#ev-text', 'ping');
    await page.click('#event-filter button[type=submit]');
    const filtered = (f: string) => page.waitForFunction((want) => document.querySelector('#event-log')?.dataset.filter === want, f);
    await filtered('21||ping');
    expect(await page.$$eval('#event-log tbody tr', (trs) => trs.length)).toBeGreaterThan(0);
    const rows = await page.$$eval('#event-log tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    for (const [, node, , name, message] of rows) {
      expect(node).toBe('21');
      expect(`${name} ${message}`.toLowerCase()).toContain('ping');
    }
    await page.selectOption('#ev-severity', 'error');
    await page.click('#event-filter button[type=submit]');
    await filtered('21|error|ping');
    expect(await page.$$eval('#event-log tbody tr', (trs) => trs.length)).toBe(0);
    await page.selectOption('#ev-severity', '');
    await page.selectOption('#ev-node', '');
    await page.fill('#ev-text', 'session');
    await page.click('#event-filter button[type=submit]');
    await filtered('||session');
    const nodes = await page.$$eval('#event-log tbody tr td:nth-child(2)', (tds) => new Set(tds.map((td) => td.textContent)).size);
    expect(nodes).toBeGreaterThanOrEqual(2); // every node made sessions: all nodes' events, one text
    await screenshot(page, '4-events');
  });

  it('co-signing: a critical SET_PARAM is held, co-signed by bob with tern gse cosign, uploaded and executed', async () => {
    await tab('commands');
    await page.fill('#cmd-node', '20');
    await page.selectOption('#cmd-name', 'SET_PARAM');
    await page.fill('#arg-param', 'cmd.approvalWindowS');
    await page.fill('#arg-value', '1200');
    await page.click('#cmd-hold');
    await page.waitForSelector('#cmd-result.ok');
    const digest = /held for co-signing: ([0-9a-f]{16})/.exec((await page.textContent('#cmd-result'))!)![1]!;
    const held = `#held tr[data-digest="${digest}"]`;
    await page.waitForSelector(held);
    expect(await page.textContent(`${held} td:nth-child(3)`)).toBe('operator 1');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`${held} a.button`)]);
    const file = join(cwd, 'to-bob.cbor');
    await download.saveAs(file);
    const cosigned = await runTern(['gse', 'cosign', file, '--key', join(dir, 'keys/bob.key'), '--pub', join(dir, 'keys/demo-operator.key.pub.json')], cwd);
    expect(cosigned.code, cosigned.stderr).toBe(0);
    expect(cosigned.stdout).toContain('SET_PARAM (0x0510) to node 20');
    await page.setInputFiles('#upload-file', file);
    await page.click('#upload button[type=submit]');
    await page.waitForFunction((sel) => document.querySelector(`${sel} td:nth-child(3)`)?.textContent === 'operator 1, operator 2', held);
    await screenshot(page, '5-cosign-held');
    await page.click(`${held} button.send`);
    await page.waitForSelector(held, { state: 'detached' });
    const row = `#history tr[data-digest="${digest}"]`;
    await page.waitForSelector(`${row} .badge.executed`, { timeout: 60_000 });
    expect(await page.textContent(`${row} td.response`)).toContain('1200');
    await screenshot(page, '6-cosign-executed');
  });

  it('bundles: the Bundles button of a node asks LIST_BUNDLES and shows what the node holds', async () => {
    await tab('overview');
    await page.click('#nodes tr[data-node="20"] button');
    await page.waitForFunction(() => /^node 20: \d+ bundle\(s\)$/.test(document.querySelector('#bundles-node')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const total = Number(/(\d+) bundle/.exec((await page.textContent('#bundles-node'))!)![1]);
    expect(await page.$$eval('#bundles tbody tr:not(.empty)', (trs) => trs.length)).toBe(Math.min(total, 50));
    expect(await page.$$eval('#bundles tbody tr.empty', (trs) => trs.length)).toBe(total === 0 ? 1 : 0);
    await screenshot(page, '1b-bundles');
  });

  it('archive: a replay draws a past range; exec.frames exports as CSV', async () => {
    await tab('telemetry');
    // The range: from ten minutes ago to a minute ahead, in the inputs' local time, to the minute.
    // (With seconds, a time on a whole minute fails: Chromium shows "hh:mm:00" as "hh:mm" and
    // Playwright takes the difference for a malformed value, once a minute.)
    const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.fill('#replay-from', local(Date.now() - 600_000));
    await page.fill('#replay-to', local(Date.now() + 60_000));
    await page.click('#replay');
    await page.waitForFunction(() => document.querySelector('#plot-mode')?.textContent === 'replay');
    await page.waitForFunction(() => document.querySelectorAll('.plot[data-channel="exec.frames"] .u-series').length >= 4);
    await screenshot(page, '7-replay');
    await page.click('#live');
    await tab('archive');
    await page.waitForFunction(() => [...document.querySelectorAll('#ex-channel option')].some((o) => o.textContent === 'exec.frames'));
    await page.selectOption('#ex-channel', 'exec.frames');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ex-link')]);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('time,tMs,node,channel,value');
    expect(csv.length).toBeGreaterThan(3);
    expect(new Set(csv.slice(1).map((l) => l.split(',')[2]))).toEqual(new Set(['10', '20', '21']));
    expect(await page.textContent('#ex-cli')).toContain('npx tern gse export --channel exec.frames');
    await screenshot(page, '8-archive');
    expect(errors).toEqual([]);
  });
});
