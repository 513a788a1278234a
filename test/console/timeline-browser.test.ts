// The Contacts page in chromium on a running local mission whose nodes route by a contact plan:
// ground-10, sat-20 and sat-21 on free ports, all with the test's plan on the mission clock
// (TERN_MISSION_EPOCH_MS, 60 plan s per s), and `tern gse console --plan` placing the same plan.
// The page draws every contact of the window, a now line, marks and lists exactly the contacts
// the plan has open at the page's plan time, and shows where each node's bundles wait from its
// housekeeping. Screenshot: test/console/output/10-contacts.png.
//
// TERN_README_PICTURES=1 also writes the README's pictures to gse/console/docs/ (the overview, the
// plots, the Contacts page, and the constellation plan drawn by `tern route timeline`):
//   TERN_README_PICTURES=1 npx vitest run --config test/vitest.config.ts test/console/timeline-browser.test.ts
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTernPlan } from '../../flight/route/plan-tern.js';
import { ensureMissionDirCerts } from '../../gse/mission.js';
import { copyMissionWithFreePorts, freePort } from '../support/mission.js';
import { killAll, REPO, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { openConsole, screenshot } from './browser.js';

declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PICTURES = process.env.TERN_README_PICTURES === '1' ? join(REPO, 'gse/console/docs') : undefined;
const TIME_SCALE = 60;
// sat-20 sees the station in three passes; sat-21 sees only sat-20, all day.
const PLAN = {
  format: 'tern-contact-plan/1',
  nodes: [{ node: 10, name: 'ground-10' }, { node: 20, name: 'sat-20' }, { node: 21, name: 'sat-21' }],
  contacts: [
    ...[[0, 1200], [1800, 3000], [3600, 86400]].flatMap(([start, end]) => [
      { from: 10, to: 20, start, end, rate: 250000, owlt: 0.01 }, { from: 20, to: 10, start, end, rate: 250000, owlt: 0.01 },
    ]),
    { from: 20, to: 21, start: 0, end: 86400, rate: 1250000, owlt: 0.02 }, { from: 21, to: 20, start: 0, end: 86400, rate: 1250000, owlt: 0.02 },
  ],
};
const plan = parseTernPlan(PLAN, { source: 'plan.json' });

let cwd: string;
let nodes: TernProcess[] = [];
let consoleProcess: TernProcess;
let browser: BrowserContext;
let page: Page;
let errors: string[];
const epochMs = Date.now();
/** When every node had started: the page's plan time is later than this. */
let startedMs: number;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tern-console-contacts-'));
  const dir = join(cwd, 'local');
  await copyMissionWithFreePorts(join(REPO, 'flight/config/missions/local'), dir);
  ensureMissionDirCerts(dir); // the station's and the console's TLS files, as tern mission makes them
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
  const mission = readJson(join(dir, 'mission.json'));
  for (const file of mission.nodes as string[]) {
    const config = readJson(join(dir, file));
    config.contactPlan = { file: 'plan.json', epoch: 'mission-start', timeScale: TIME_SCALE };
    writeFileSync(join(dir, file), JSON.stringify(config, null, 2));
  }
  const env = { TERN_MISSION_EPOCH_MS: String(epochMs) };
  nodes = (mission.nodes as string[]).map((file) => startTern(['flight', '--config', join(dir, file)], env, cwd));
  for (const n of nodes) await n.waitForLine((l) => l.msg === 'node started', 60_000);
  startedMs = Date.now();
  ({ process: consoleProcess, browser, page, errors } = await openConsole([
    '--listen', `127.0.0.1:${await freePort()}`, '--dtn', mission.console.listen, '--node', String(mission.console.node), '--dtn-tls', join(dir, 'certs'),
    '--archive', join(cwd, 'archive'), '--from', join(cwd, 'var/mission/sat-20'),
    '--plan', join(dir, 'plan.json'), '--time-scale', String(TIME_SCALE), '--ground', '10',
  ], env, cwd, { width: 1280, height: 800 }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  killAll([...nodes, consoleProcess]);
});

const tab = (name: string) => page.click(`nav button[data-tab=${name}]`);

describe('Contacts page in chromium', () => {
  it('draws the plan around now, marks and lists the contacts open now, and shows where bundles wait', async () => {
    for (const node of [10, 20, 21]) await page.waitForSelector(`#nodes tr[data-node="${node}"]`, { timeout: 60_000 });
    await tab('contacts');
    // Every node's housekeeping has reached the page (the waiting table reads it).
    await page.waitForFunction(() => window.ternContacts?.waiting?.length === 3, undefined, { timeout: 30_000 });
    const state = await page.evaluate(() => window.ternContacts);
    expect(state).toMatchObject({ epochMs, timeScale: TIME_SCALE, contacts: 8, pairs: 2, ground: [10, 100] });
    // The chart (6 h of plan time around now) and the tables come from the same refresh.
    const svg = await page.evaluate(() => document.querySelector('#contacts-chart svg').outerHTML as string);
    const drawn = [...svg.matchAll(/class="contact (\w+)( open)?" data-from="(\d+)" data-to="(\d+)" data-start="([\d.]+)"/g)];
    expect(drawn).toHaveLength(8);
    expect(drawn.filter((m) => m[1] === 'ground').length).toBe(6);
    expect(svg).toMatch(/<line class="now"/);
    // Open now: exactly the plan's contacts at the page's plan time, in the list and on the chart.
    const now = state.planNowS as number;
    // The nodes' mapping: plan time t at epochMs + 1000 t / timeScale.
    expect(now).toBeGreaterThanOrEqual(((startedMs - epochMs) * TIME_SCALE) / 1000);
    expect(now).toBeLessThanOrEqual(((Date.now() - epochMs) * TIME_SCALE) / 1000);
    const expected = plan.contacts.filter((c) => c.start <= now && now < c.end).map((c) => `${c.from}>${c.to}@${c.start}`).sort();
    expect((state.open as { from: number; to: number; start: number }[]).map((c) => `${c.from}>${c.to}@${c.start}`).sort()).toEqual(expected);
    const svgNow = Number(/now ([\d.]+) s/.exec(svg)![1]);
    const openAtSvg = plan.contacts.filter((c) => c.start <= svgNow && svgNow < c.end).map((c) => `${c.from}>${c.to}@${c.start}`).sort();
    expect(drawn.filter((m) => m[2]).map((m) => `${m[3]}>${m[4]}@${m[5]}`).sort()).toEqual(openAtSvg);
    expect(await page.$$eval('#contacts-open tbody tr', (trs) => trs.length)).toBe(expected.length);
    // Where bundles wait: each node's own counts from its housekeeping, none invented.
    for (const node of [10, 20, 21]) {
      const w = (state.waiting as { node: number; inPlan: boolean; counts: Record<string, number | null> }[]).find((x) => x.node === node)!;
      expect(w.inPlan).toBe(true);
      for (const channel of ['dtn.store.bundles', 'dtn.agent.pending', 'dtn.agent.awaitingContact', 'route.contactsOpen']) expect(typeof w.counts[channel]).toBe('number');
      const cell = await page.textContent(`#contacts-waiting tr[data-node="${node}"] td[data-channel="dtn.agent.pending"]`);
      expect(cell).toMatch(/^\d+$/);
    }
    await screenshot(page, '10-contacts');
  });

  it('shows the bundles a node had queued for a contact when it opened (ROUTE_CONTACT_STARTED)', async () => {
    // sat-20's pass with the station closes at plan 1200 s and opens again at 1800 s (30 s later).
    await page.waitForFunction(() => window.ternContacts?.waiting?.some((w: any) => w.lastContactStarted !== null), undefined, { timeout: 120_000 }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const started = (await page.evaluate(() => window.ternContacts.waiting)).filter((w: { lastContactStarted: unknown }) => w.lastContactStarted !== null);
    for (const w of started) expect(w.lastContactStarted).toMatchObject({ neighbour: expect.any(Number), waiting: expect.any(Number) });
    expect(await page.textContent('#contacts-waiting tbody')).toMatch(/with \d+, \d+ bundles queued/);
    expect(errors).toEqual([]);
  }, 150_000);

  it('follows the station contact closing (plan 1200 s) and opening again (1800 s), when sat-20 reports it', async () => {
    const wall = (t: number) => epochMs + (1000 * t) / TIME_SCALE;
    await page.waitForFunction(() => window.ternContacts?.planNowS >= 1200 && window.ternContacts.planNowS < 1800, undefined, { timeout: 90_000, polling: 250 });
    const gap = await page.evaluate(() => ({
      open: window.ternContacts.open.map((c: any) => `${c.from}>${c.to}`), // eslint-disable-line @typescript-eslint/no-explicit-any
      marked: [...document.querySelectorAll('#contacts-chart rect.contact.open')].map((r) => `${r.dataset.from}>${r.dataset.to}`),
    }));
    expect(gap.open.sort()).toEqual(['20>21', '21>20']);
    expect(gap.marked.sort()).toEqual(['20>21', '21>20']);
    await screenshot(page, '11-contacts-gap');
    // Reopened: sat-20 reports the contact with the station starting (its own event, sent down it).
    await page.waitForFunction((after) => {
      const started = window.ternContacts?.waiting?.find((w: any) => w.node === 20)?.lastContactStarted; // eslint-disable-line @typescript-eslint/no-explicit-any
      return started?.neighbour === 10 && started.tMs >= after;
    }, wall(1800), { timeout: 90_000 });
    expect(await page.textContent('#contacts-waiting tr[data-node="20"]')).toMatch(/with 10, \d+ bundles queued/);
    // What waited on sat-20 is in its housekeeping, archived: bundles pending at some point.
    const pending = await page.evaluate(async (from) => (await (await fetch(`/api/samples?channel=dtn.agent.pending&node=20&from=${from}&to=${Date.now()}`)).json()) as { value: number }[], epochMs);
    expect(Math.max(...pending.map((x) => x.value))).toBeGreaterThan(0);
    await screenshot(page, '12-contacts-reopened');
    if (PICTURES) {
      mkdirSync(PICTURES, { recursive: true });
      await page.screenshot({ path: join(PICTURES, 'console-contacts.png') });
    }
    expect(errors).toEqual([]);
  }, 200_000);

  it.runIf(PICTURES)('README: the overview and the plots, with half a minute of the mission in them', async () => {
    await tab('overview');
    await page.click('#nodes tr[data-node="20"]');
    await page.fill('#values-filter', 'dtn.agent');
    await page.screenshot({ path: join(PICTURES!, 'console-overview.png') });
    await tab('telemetry');
    await page.waitForFunction(() => document.querySelectorAll('.plot[data-channel="exec.frames"] .u-series').length >= 4, undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(PICTURES!, 'console-plots.png') });
  });

  it.runIf(PICTURES)('README: the constellation plan drawn by tern route timeline', async () => {
    const svg = join(cwd, 'constellation.svg');
    const run = await runTern(['route', 'timeline', '--plan', join(REPO, 'flight/config/missions/constellation/plan.json'), '--ground', '10,11,100', '--to', '21600', '--out', svg], cwd);
    expect(run.code).toBe(0);
    const chart = await browser.newPage();
    await chart.setViewportSize({ width: 1200, height: 640 });
    await chart.goto(`file://${svg}`);
    await chart.screenshot({ path: join(PICTURES!, 'contact-timeline.png') });
    await chart.close();
  });
});
