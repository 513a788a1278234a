// The contact plan: when each node can send to which neighbour, how fast, and how long the signal
// takes. Every loader (ION, HDTN, Tern JSON) and the orbit predictor produce drafts that
// buildPlan validates into this one model; routing trusts a built plan.
//
// Time: plan times are seconds after the plan's epoch. A node maps plan time t to its DTN clock
// (Unix ms) as epochMs + 1000 t; a plan without an epoch (ION relative times, HDTN) is relative,
// and the node supplies the epoch (its mission time origin) when it loads it.
import { ContactPlanError } from './errors.js';

export interface Contact {
  /** Index in plan.contacts. */
  readonly id: number;
  readonly from: number;
  readonly to: number;
  /** Seconds after the plan epoch. */
  readonly start: number;
  readonly end: number;
  /** Bytes per second. */
  readonly rate: number;
  /** One-way light time, seconds: the largest of the ranges in effect during the contact. */
  readonly owlt: number;
  readonly confidence: number;
}

/** A period over which the one-way light time from `from` to `to` is `owlt` seconds. */
export interface Range {
  readonly from: number;
  readonly to: number;
  readonly start: number;
  readonly end: number;
  readonly owlt: number;
}

export interface ContactPlan {
  /** Unix ms of plan time 0; undefined for a relative plan. */
  readonly epochMs: number | undefined;
  /** Every node named by a contact or range, ascending. */
  readonly nodes: readonly number[];
  /** Sorted by from, then to, then start. */
  readonly contacts: readonly Contact[];
  readonly ranges: readonly Range[];
  /** Entries a loader passed over, "where: why" (HDTN contacts that end before they start). */
  readonly skipped: readonly string[];
}

/** A contact as a loader read it, with where it came from for errors. */
export interface ContactDraft {
  where: string;
  from: number;
  to: number;
  start: number;
  end: number;
  rate: number;
  /** Undefined: taken from the ranges, which must cover the contact's start. */
  owlt?: number;
  confidence?: number;
}

export interface RangeDraft {
  where: string;
  from: number;
  to: number;
  start: number;
  end: number;
  owlt: number;
}

export interface BuildOptions {
  /** The file or name errors are reported against. */
  source: string;
  epochMs?: number;
  /** Node numbers the plan may name (the mission's nodes); others are refused. */
  knownNodes?: ReadonlySet<number>;
  /** Accept a pair's contacts overlapping in time (HDTN's router does; ION refuses them). */
  allowOverlap?: boolean;
  /** Passed over by the loader, reported with the plan. */
  skipped?: readonly string[];
}

function isNode(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

export function buildPlan(contacts: readonly ContactDraft[], ranges: readonly RangeDraft[], options: BuildOptions): ContactPlan {
  const { source, knownNodes } = options;
  const fail = (where: string, expected: string, got?: unknown): never => {
    throw new ContactPlanError(source, where, expected, got);
  };
  const checkNodes = (d: { where: string; from: number; to: number }): void => {
    for (const [field, n] of [['from', d.from], ['to', d.to]] as const) {
      if (!isNode(n)) fail(`${d.where} ${field}`, 'an ipn node number (integer >= 1)', n);
      if (knownNodes && !knownNodes.has(n)) fail(`${d.where} ${field}`, 'a node of the mission', n);
    }
    if (d.from === d.to) fail(d.where, 'two different nodes', `${d.from} to itself`);
  };
  const checkInterval = (d: { where: string; start: number; end: number }): void => {
    if (!Number.isFinite(d.start)) fail(`${d.where} start`, 'a finite time', d.start);
    if (!Number.isFinite(d.end)) fail(`${d.where} end`, 'a finite time', d.end);
    if (!(d.end > d.start)) fail(`${d.where} end`, `a time after the start (${d.start})`, d.end);
  };
  for (const r of ranges) {
    checkNodes(r);
    checkInterval(r);
    if (!(Number.isFinite(r.owlt) && r.owlt >= 0)) fail(`${r.where} owlt`, 'a one-way light time >= 0 s', r.owlt);
  }
  let rangesByPair: Map<string, RangeDraft[]> | undefined; // built when a contact first needs it
  const rangesOf = (from: number, to: number): RangeDraft[] => {
    if (!rangesByPair) {
      rangesByPair = new Map();
      for (const r of ranges) {
        const key = `${r.from}>${r.to}`;
        const list = rangesByPair.get(key);
        if (list) list.push(r);
        else rangesByPair.set(key, [r]);
      }
    }
    return rangesByPair.get(`${from}>${to}`) ?? [];
  };
  const sorted = [...contacts].sort((a, b) => a.from - b.from || a.to - b.to || a.start - b.start);
  const out: Contact[] = [];
  const nodes = new Set<number>();
  let previous: ContactDraft | undefined; // the one before in sort order
  let latest: ContactDraft | undefined; // the pair's latest-ending contact so far
  for (const d of sorted) {
    checkNodes(d);
    checkInterval(d);
    if (!(Number.isFinite(d.rate) && d.rate > 0)) fail(`${d.where} rate`, 'a rate > 0 bytes/s', d.rate);
    const confidence = d.confidence ?? 1;
    if (!(confidence > 0 && confidence <= 1)) fail(`${d.where} confidence`, 'a confidence in (0, 1]', confidence);
    const samePair = previous !== undefined && previous.from === d.from && previous.to === d.to;
    if (samePair && d.start === previous!.start) fail(d.where, `one contact ${d.from} -> ${d.to} starting at ${d.start}`, `a duplicate of ${previous!.where}`);
    if (samePair && !options.allowOverlap && d.start < latest!.end) {
      fail(d.where, `no overlap with the contact ${d.from} -> ${d.to} at ${latest!.where} (ends ${latest!.end})`, `start ${d.start}`);
    }
    let owlt = d.owlt;
    if (owlt === undefined) {
      const pair = rangesOf(d.from, d.to);
      if (!pair.some((r) => r.start <= d.start && d.start < r.end)) {
        fail(d.where, `a range ${d.from} -> ${d.to} in effect at the contact's start (${d.start})`, 'none');
      }
      // Piecewise ranges over a long contact: the largest, so no arrival is promised too early.
      owlt = Math.max(...pair.filter((r) => r.start < d.end && r.end > d.start).map((r) => r.owlt));
    } else if (!(Number.isFinite(owlt) && owlt >= 0)) {
      fail(`${d.where} owlt`, 'a one-way light time >= 0 s', owlt);
    }
    out.push({ id: out.length, from: d.from, to: d.to, start: d.start, end: d.end, rate: d.rate, owlt, confidence });
    nodes.add(d.from).add(d.to);
    if (!samePair || d.end > latest!.end) latest = d;
    previous = d;
  }
  for (const r of ranges) nodes.add(r.from).add(r.to);
  return {
    epochMs: options.epochMs,
    nodes: [...nodes].sort((a, b) => a - b),
    contacts: out,
    ranges: ranges.map(({ from, to, start, end, owlt }) => ({ from, to, start, end, owlt })),
    skipped: options.skipped ?? [],
  };
}
