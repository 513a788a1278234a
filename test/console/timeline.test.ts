// `tern route timeline` as a child process: the SVG of a small plan has exactly its contacts'
// bars (read back from the SVG text), classed ground or inter-satellite, clipped to --from/--to,
// the same bytes from the three plan formats' files and from two runs; a bad plan fails with the
// loader's typed error naming where.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTernPlan } from '../../flight/route/plan-tern.js';
import { formatHdtnPlan } from '../../flight/route/plan-hdtn.js';
import { formatIonPlan } from '../../flight/route/plan-ion.js';
import { planEpochMs } from '../../gse/console/timeline.js';
import { timelineSvg } from '../../gse/route-timeline.js';
import { runTern } from '../support/node-process.js';

/** Every contact bar of a chart: from, to, start, end, class list, and its x and width. */
function bars(svg: string): { from: number; to: number; start: number; end: number; classes: string[]; x: number; width: number }[] {
  return [...svg.matchAll(/<rect class="([^"]+)" data-from="(\d+)" data-to="(\d+)" data-start="([^"]+)" data-end="([^"]+)" x="([^"]+)" y="[^"]+" width="([^"]+)"/g)]
    .map((m) => ({ classes: m[1]!.split(' '), from: Number(m[2]), to: Number(m[3]), start: Number(m[4]), end: Number(m[5]), x: Number(m[6]), width: Number(m[7]) }));
}

// Ground station 10, satellites 20 and 21: two passes, the ISL both ways, one contact late.
const PLAN = {
  format: 'tern-contact-plan/1', epoch: '2026-01-01T00:00:00.000Z',
  nodes: [{ node: 10, name: 'Darmstadt' }, { node: 20, name: 'sat-20' }, { node: 21, name: 'sat-21' }],
  contacts: [
    { from: 10, to: 20, start: 100, end: 400, rate: 1000, owlt: 0.01 },
    { from: 20, to: 10, start: 100, end: 400, rate: 1000, owlt: 0.01 },
    { from: 20, to: 21, start: 0, end: 3600, rate: 5000, owlt: 0.02 },
    { from: 21, to: 20, start: 0, end: 3600, rate: 5000, owlt: 0.02 },
    { from: 10, to: 21, start: 5000, end: 5600, rate: 1000, owlt: 0.01 },
  ],
};

let dir: string;
const files: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tern-timeline-'));
  const plan = parseTernPlan(PLAN, { source: 'p' });
  files.tern = join(dir, 'plan.json');
  writeFileSync(files.tern, JSON.stringify(PLAN));
  files.ion = join(dir, 'plan.ionrc');
  writeFileSync(files.ion, formatIonPlan(plan));
  files.hdtn = join(dir, 'plan-hdtn.json');
  writeFileSync(files.hdtn, formatHdtnPlan(plan));
});

async function timeline(args: string[]): Promise<{ code: number; stdout: string; stderr: string; svg: string }> {
  const out = join(dir, `${args.join('_').replace(/[^\w]/g, '')}.svg`);
  const run = await runTern(['route', 'timeline', ...args, '--out', out], dir);
  return { ...run, svg: run.code === 0 ? readFileSync(out, 'utf8') : '' };
}

describe('tern route timeline', () => {
  it('draws one bar per contact, one row per pair, coloured by link class', async () => {
    const run = await timeline(['--plan', files.tern!, '--ground', '10']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ rows: 3, contacts: 5 });
    const got = bars(run.svg);
    expect(got.map((b) => [b.from, b.to, b.start, b.end, b.classes.join(' ')])).toEqual([
      [10, 20, 100, 400, 'contact ground'],
      [20, 10, 100, 400, 'contact ground'],
      [10, 21, 5000, 5600, 'contact ground'],
      [20, 21, 0, 3600, 'contact isl'],
      [21, 20, 0, 3600, 'contact isl'],
    ]);
    // Bars sit on one time axis: 0..5600 s across the chart, so widths follow durations.
    const [pass, , late, isl] = got;
    expect(late!.width / pass!.width).toBeCloseTo(600 / 300, 1);
    expect(isl!.width / pass!.width).toBeCloseTo(3600 / 300, 1);
    expect(late!.x).toBeGreaterThan(isl!.x + isl!.width);
    expect(run.svg).toContain('10 Darmstadt – 20 sat-20');
    expect(run.svg).toContain('epoch 2026-01-01T00:00:00Z');
    expect(run.svg).not.toMatch(/style=/); // the console's CSP refuses inline styles
  });

  it('gives the same bytes for the plan in ION, HDTN and Tern files, and from run to run', async () => {
    const window = ['--from', '0', '--to', '6000', '--ground', '10'];
    const [ion, hdtn, again] = [await timeline(['--plan', files.ion!, ...window]), await timeline(['--plan', files.hdtn!, ...window]), await timeline(['--plan', files.ion!, ...window])];
    expect(ion.code).toBe(0);
    expect(bars(ion.svg).map((b) => [b.from, b.to, b.start, b.end])).toEqual(bars((await timeline(['--plan', files.tern!, ...window])).svg).map((b) => [b.from, b.to, b.start, b.end]));
    // HDTN plans carry no epoch: the same bars on a relative axis.
    expect(bars(hdtn.svg)).toEqual(bars(ion.svg));
    expect(again.svg).toBe(ion.svg);
  });

  it('keeps only the window and the pairs of --nodes; without --ground the class is not guessed', async () => {
    const run = await timeline(['--plan', files.tern!, '--from', '2026-01-01T00:05:00Z', '--to', '4000', '--nodes', '20']);
    expect(run.code).toBe(0);
    expect(bars(run.svg).map((b) => [b.from, b.to, b.classes.join(' ')])).toEqual([
      [10, 20, 'contact link'], [20, 10, 'contact link'], [20, 21, 'contact link'], [21, 20, 'contact link'],
    ]);
    expect(run.svg).toContain('class unknown');
  });

  it('marks a now line and the contacts open then', () => {
    const svg = timelineSvg(parseTernPlan(PLAN, { source: 'p' }), { nowS: 200, ground: new Set([10]) });
    expect(bars(svg).filter((b) => b.classes.includes('open')).map((b) => [b.from, b.to])).toEqual([[10, 20], [20, 10], [20, 21], [21, 20]]);
    expect(svg).toMatch(/<line class="now" x1="[\d.]+"/);
  });

  it("fails a bad plan with the loader's typed error naming where", async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...PLAN, contacts: [{ from: 10, to: 20, start: 50, end: 40, rate: 1000, owlt: 0.01 }] }));
    const run = await timeline(['--plan', bad]);
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr.trim()).error;
    expect(error).toMatchObject({ code: 'ROUTE_PLAN_INVALID', where: 'contacts[0] end' });
    const missing = await timeline(['--plan', join(dir, 'nope.json')]);
    expect(JSON.parse(missing.stderr.trim()).error.code).toBe('ROUTE_PLAN_INVALID');
    const badNodes = await timeline(['--plan', files.tern!, '--nodes', '20,x']);
    expect(JSON.parse(badNodes.stderr.trim()).error).toMatchObject({ code: 'ROUTE_BAD_ARGUMENT', option: 'nodes' });
  });
});

describe('tern gse console --plan', () => {
  it("refuses to start with a bad plan, in one line with the loader's reason", async () => {
    const bad = join(dir, 'bad-console.json');
    writeFileSync(bad, JSON.stringify({ ...PLAN, contacts: [{ from: 10, to: 10, start: 0, end: 40, rate: 1000, owlt: 0.01 }] }));
    const run = await runTern(['gse', 'console', '--listen', '127.0.0.1:0', '--dtn', '127.0.0.1:0', '--archive', join(dir, 'archive'), '--plan', bad], dir);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^tern gse console: .*bad-console\.json: contacts\[0\].*two different nodes/);
    const alone = await runTern(['gse', 'console', '--archive', join(dir, 'archive'), '--time-scale', '60'], dir);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('give --plan FILE too');
  });

  it('places plan time 0 at --plan-epoch, else the mission start, else the plan epoch', () => {
    const plan = parseTernPlan(PLAN, { source: 'p' });
    const planEpoch = Date.parse(PLAN.epoch);
    expect(planEpochMs(plan, '2026-02-01T00:00:00Z', {}, 5)).toBe(Date.parse('2026-02-01T00:00:00Z'));
    expect(planEpochMs(plan, '1700000000000', {}, 5)).toBe(1_700_000_000_000);
    expect(planEpochMs(plan, undefined, { TERN_MISSION_EPOCH_MS: '42' }, 5)).toBe(42);
    expect(planEpochMs({ ...plan, epochMs: planEpoch }, undefined, {}, 5)).toBe(planEpoch);
    expect(planEpochMs({ ...plan, epochMs: undefined }, undefined, {}, 5)).toBe(5);
    expect(() => planEpochMs(plan, 'mission-start', {}, 5)).toThrow(/--plan-epoch: expected "mission-start" with TERN_MISSION_EPOCH_MS set/);
    expect(() => planEpochMs(plan, 'yesterday', {}, 5)).toThrow(expect.objectContaining({ code: 'ROUTE_BAD_ARGUMENT' }));
  });
});
