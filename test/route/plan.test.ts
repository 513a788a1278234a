import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../flight/log.js';
import { ROUTE_CHANNELS } from '../../flight/route/dictionary.js';
import { ContactPlanError } from '../../flight/route/errors.js';
import { formatHdtnPlan, parseHdtnPlan } from '../../flight/route/plan-hdtn.js';
import { formatIonPlan, parseIonPlan } from '../../flight/route/plan-ion.js';
import { detectPlanFormat, parsePlan, PlanIntake, readPlanFile } from '../../flight/route/plan-load.js';
import { formatTernPlan, parseTernPlan } from '../../flight/route/plan-tern.js';
import { EventLog } from '../../flight/tlm/events.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';

const VECTORS = new URL('../../../shared/vectors/cgr/', import.meta.url).pathname;
const ion = (text: string, extra = {}) => parseIonPlan(text, { source: 'p.ionrc', ...extra });
const refused = (f: () => unknown, message: string): void => {
  expect(f).toThrow(ContactPlanError);
  expect(f).toThrow(message);
};

describe('ION plans', () => {
  it('reads contacts and ranges, relative and absolute times, @ reference and implied reverse ranges', () => {
    const plan = ion([
      '## begin ionadmin',
      '1 1 \'\'',
      's',
      'a contact +0 +100 1 2 125000',
      'a contact +0 +100 2 1 125000 0.5',
      'a range +0 +100 1 2 1',
      '@ +1000',
      'a contact +10 +20 2 3 1000',
      'a range +0 +50 3 2 2',
      'a range +0 +50 2 3 3',
      'a contact 2026/01/01-00:16:50 2026/01/01-00:17:10 3 2 1000',
      'a contact +0 +3600 1 1 1000',
      'a contact -1 -1 7 7 0',
      'm horizon +0',
    ].join('\n'), { epochMs: Date.UTC(2026, 0, 1) });
    expect(plan.contacts.map((c) => [c.from, c.to, c.start, c.end, c.rate, c.owlt, c.confidence])).toEqual([
      [1, 2, 0, 100, 125000, 1, 1],
      [2, 1, 0, 100, 125000, 1, 0.5], // owlt from the implied reverse of "1 2"
      [2, 3, 1010, 1020, 1000, 3, 1], // explicit 2 -> 3, not the 3 -> 2 range
      [3, 2, 1010, 1030, 1000, 2, 1],
    ]);
    expect(plan.nodes).toEqual([1, 2, 3]);
  });

  it('without an epoch, the earliest absolute time is plan time 0', () => {
    const plan = ion('a contact 2026/01/01-00:10:00 2026/01/01-00:20:00 1 2 1000\na range 2026/01/01-00:00:00 2026/01/02-00:00:00 1 2 1');
    expect(plan.epochMs).toBe(Date.UTC(2026, 0, 1));
    expect([plan.contacts[0]!.start, plan.contacts[0]!.end]).toEqual([600, 1200]);
  });

  it("reads the CGR tutorial's pyCGR dialect, the contact line's sixth value a range", () => {
    const plan = readPlanFile(`${VECTORS}cgr-tutorial.ion.txt`);
    expect(plan.contacts).toHaveLength(16);
    expect(plan.contacts.every((c) => c.owlt === 1 && c.rate === 1 && c.confidence === 1)).toBe(true);
  });

  it('refuses bad plans naming the line', () => {
    const range = '\na range +0 +1000 1 2 1';
    refused(() => ion(`a contact +100 +50 1 2 1000${range}`), 'p.ionrc: line 1 end: expected a time after the start (100), got 50');
    refused(() => ion(`a contact +0 +50 1 2 -5${range}`), 'p.ionrc: line 1 rate: expected a rate > 0 bytes/s, got -5');
    refused(() => ion('a contact +0 +50 1 2 1000\na contact +0 +50 2 1 1000\na range +0 +50 1 2 1\na contact +0 +50 1 3 1000'),
      'p.ionrc: line 4: expected a range 1 -> 3 in effect at the contact\'s start (0), got none');
    refused(() => ion(`a contact +0 +50 1 2 1000\na contact +40 +90 1 2 1000${range}`),
      'p.ionrc: line 2: expected no overlap with the contact 1 -> 2 at line 1 (ends 50), got start 40');
    refused(() => ion(`a contact +0 +50 1 2 1000\na contact +0 +50 1 2 1000${range}`), 'line 2: expected one contact 1 -> 2 starting at 0');
    refused(() => ion(`a contact +0 +50 1 2 1000${range}`, { knownNodes: new Set([1]) }), 'p.ionrc: line 2 to: expected a node of the mission, got 2');
    refused(() => ion('a contact +0 +50 1 x 1000'), 'p.ionrc: line 1: expected a node number for to, got x');
    refused(() => ion('a contact 0 +50 1 2 1000'), 'line 1: expected a start time (+SECONDS or yyyy/mm/dd-hh:mm:ss), got 0');
    refused(() => ion('a contact 2026/02/30-00:00:00 +50 1 2 1000'), 'line 1: expected a start time');
    refused(() => ion('a contact +0 +50 1 2'), 'line 1: expected a contact START STOP FROM TO RATE [CONFIDENCE]');
    refused(() => ion('a endpoint ipn:1.1 x'), 'line 1: expected "contact" or "range" after "a", got endpoint');
    refused(() => ion('d contact +0 1 2'), 'line 1: expected only "a contact" and "a range" in a plan file, got d contact');
    refused(() => ion(`a contact +0 +50 1 2 1000 1.5${range}`), 'line 1 confidence: expected a confidence in (0, 1], got 1.5');
  });
});

describe('HDTN plans', () => {
  it("reads HDTN's 10-node plan, rates in bits/s, passing over the six contacts that end before they start", () => {
    const plan = readPlanFile(`${VECTORS}hdtn-10nodes.json`);
    expect(plan.contacts).toHaveLength(368 - 6);
    expect(plan.skipped).toHaveLength(6);
    expect(plan.skipped[0]).toMatch(/^contacts\[\d+\]: ends \(\d+\) before it starts/);
    expect(plan.contacts[0]!.rate).toBe(125_000_000);
    expect(plan.epochMs).toBeUndefined();
  });

  it('names the bad field', () => {
    refused(() => parseHdtnPlan({ contacts: [{ source: 1, dest: 2, startTime: 0, endTime: 5, owlt: 1 }] }, { source: 'h.json' }),
      'h.json: contacts[0].rateBitsPerSec: expected a number, got nothing');
    refused(() => parseHdtnPlan({ contacts: [{ source: 1, dest: 2, startTime: 0, endTime: 5, rateBitsPerSec: -8, owlt: 1 }] }, { source: 'h.json' }),
      'h.json: contacts[0] rate: expected a rate > 0 bytes/s, got -1');
    refused(() => parseHdtnPlan({ plan: [] }, { source: 'h.json' }), 'h.json: contacts: expected an array of contacts');
    refused(() => parsePlan('{"contacts": [', { source: 'h.json' }), 'h.json: (file): expected valid JSON');
  });
});

describe("Tern's plan format", () => {
  const doc = {
    format: 'tern-contact-plan/1',
    epoch: '2026-03-09T00:00:00.000Z',
    nodes: [{ node: 1, name: 'gs' }, { node: 2 }],
    contacts: [{ from: 1, to: 2, start: 0, end: 60, rate: 1000, owlt: 0.01 }, { from: 2, to: 1, start: 0, end: 60, rate: 1000 }],
    ranges: [{ from: 2, to: 1, start: 0, end: 30, owlt: 0.01 }, { from: 2, to: 1, start: 30, end: 60, owlt: 0.02 }],
  };

  it('reads the epoch, contacts with their owlt, and piecewise ranges (the largest over the contact)', () => {
    const plan = parseTernPlan(doc, { source: 't.json' });
    expect(plan.epochMs).toBe(Date.UTC(2026, 2, 9));
    expect(plan.contacts.map((c) => c.owlt)).toEqual([0.01, 0.02]);
  });

  it('refuses unknown nodes and bad fields', () => {
    refused(() => parseTernPlan({ ...doc, nodes: [{ node: 1 }] }, { source: 't.json' }), 't.json: ranges[0] from: expected a node of the mission, got 2');
    refused(() => parseTernPlan({ ...doc, nodes: [{ node: 1 }], ranges: [] , contacts: [doc.contacts[0]] }, { source: 't.json' }), 't.json: contacts[0] to: expected a node of the mission, got 2');
    refused(() => parseTernPlan({ ...doc, format: 'x' }, { source: 't.json' }), 't.json: format: expected "tern-contact-plan/1", got x');
    refused(() => parseTernPlan({ ...doc, epoch: 'yesterday' }, { source: 't.json' }), 't.json: epoch: expected an ISO 8601 UTC time');
    refused(() => parseTernPlan({ ...doc, contacts: [{ ...doc.contacts[0], end: '60' }] }, { source: 't.json' }), 't.json: contacts[0].end: expected a number, got "60"');
    refused(() => parseTernPlan({ ...doc, ranges: [] }, { source: 't.json' }), 't.json: contacts[1]: expected a range 2 -> 1 in effect');
  });

  it('every format written reads back as the same plan', () => {
    const plan = parseTernPlan(doc, { source: 't.json' });
    const fields = (p: typeof plan) => p.contacts.map((c) => [c.from, c.to, c.start, c.end, c.rate, c.owlt]);
    const tern = formatTernPlan(plan);
    expect(detectPlanFormat(tern)).toBe('tern');
    expect(fields(parsePlan(tern, { source: 'a' }))).toEqual(fields(plan));
    expect(parsePlan(tern, { source: 'a' }).epochMs).toBe(plan.epochMs);
    expect(detectPlanFormat(formatHdtnPlan(plan))).toBe('hdtn');
    expect(fields(parsePlan(formatHdtnPlan(plan), { source: 'b' }))).toEqual(fields(plan));
    expect(detectPlanFormat(formatIonPlan(plan))).toBe('ion');
    expect(fields(parsePlan(formatIonPlan(plan), { source: 'c' }))).toEqual(fields(plan));
  });
});

describe('a node taking a plan', () => {
  it('counts and reports plans loaded and refused, and throws the typed error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-plan-'));
    const tlm = new TelemetryRegistry();
    const ch = tlm.defineAll(ROUTE_CHANNELS);
    const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
    const seen: string[] = [];
    events.onEvent((e) => seen.push(e.name));
    const intake = new PlanIntake(ch, events, { epochMs: 0 });
    writeFileSync(join(dir, 'good.ionrc'), 'a contact +0 +10 1 2 100\na range +0 +10 1 2 1\n');
    writeFileSync(join(dir, 'bad.ionrc'), 'a contact +10 +0 1 2 100\n');
    expect(intake.load(join(dir, 'good.ionrc')).contacts).toHaveLength(1);
    expect(() => intake.load(join(dir, 'bad.ionrc'))).toThrow(ContactPlanError);
    expect(() => intake.load(join(dir, 'missing.ionrc'))).toThrow('expected a readable contact plan file, got ENOENT');
    expect([ch.plansLoaded.value, ch.plansRejected.value, ch.planContacts.value]).toEqual([1, 2, 1]);
    expect(seen).toEqual(['ROUTE_PLAN_LOADED', 'ROUTE_PLAN_REJECTED', 'ROUTE_PLAN_REJECTED']);
  });
});
