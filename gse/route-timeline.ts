// `tern route timeline`: a contact plan as an SVG Gantt chart, one row per node pair, a bar per
// contact over plan time, coloured by link class (ground or inter-satellite). The console's
// Contacts page draws the same chart (gse/console/timeline.ts). Output is deterministic: the same
// plan and options give the same bytes (no clock, fixed number formatting), so charts diff.
//
// Only presentation attributes are used (no style attributes or <style>): the console's CSP
// allows no inline styles, and the chart is inserted into its page as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { RouteArgumentError } from '../flight/route/errors.js';
import type { Contact, ContactPlan } from '../flight/route/plan.js';
import { detectPlanFormat, readPlanFile } from '../flight/route/plan-load.js';
import type { RouteAction } from './route-cli.js';

export interface TimelineOptions {
  /** Plan seconds shown; default the plan's first start to its last end. */
  readonly fromS?: number;
  readonly toS?: number;
  /** Rows only for pairs with at least one of these nodes; default every pair. */
  readonly nodes?: ReadonlySet<number>;
  /** Ground nodes: a contact with one is a ground link, between two others an ISL. Empty: class unknown. */
  readonly ground?: ReadonlySet<number>;
  /** Node names for row labels (a Tern plan's `nodes`). */
  readonly names?: ReadonlyMap<number, string>;
  /** A "now" line at this plan time, and the contacts open then marked. */
  readonly nowS?: number;
  readonly width?: number;
  /**
   * Where plan time sits on a clock, for the UTC labels: plan time t is epochMs + 1000 t / timeScale
   * (a node's mapping). Default the plan's own epoch at 1 plan s per s.
   */
  readonly clock?: { readonly epochMs: number; readonly timeScale: number };
}

export type LinkClass = 'ground' | 'isl' | 'link';

export const LINK_COLOURS: Record<LinkClass, string> = { ground: '#2f7d32', isl: '#1f5fbf', link: '#6b6b6b' };

export function linkClass(c: { from: number; to: number }, ground: ReadonlySet<number> | undefined): LinkClass {
  if (!ground || ground.size === 0) return 'link';
  return ground.has(c.from) || ground.has(c.to) ? 'ground' : 'isl';
}

/** The node names of a Tern plan file (the model keeps none); other formats name no nodes. */
export function planNames(file: string): Map<number, string> {
  const text = readFileSync(file, 'utf8');
  const names = new Map<number, string>();
  if (detectPlanFormat(text) !== 'tern') return names;
  const nodes = (JSON.parse(text) as { nodes?: { node: number; name?: string }[] }).nodes ?? [];
  for (const n of nodes) if (typeof n.name === 'string') names.set(n.node, n.name);
  return names;
}

export const openAt = (c: Contact, t: number): boolean => c.start <= t && t < c.end;

const ROW_H = 22;
const TOP = 58;
const TICK_STEPS_S = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

const f2 = (n: number): string => (Math.round(n * 100) / 100).toString();
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function span(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** Hours when the chart spans them ("+1:30"), else minutes or seconds. */
function tickLabel(t: number, step: number, to: number): string {
  if (step % 3600 === 0) return `${t / 3600} h`;
  if (step % 60 === 0 && to >= 3600) return `${Math.floor(t / 3600)}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')} h`;
  if (step % 60 === 0) return `${t / 60} min`;
  return `${t} s`;
}

function utc(ms: number): string {
  return `${new Date(Math.round(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function label(n: number, names: ReadonlyMap<number, string> | undefined): string {
  const name = names?.get(n);
  return name && name !== String(n) ? `${n} ${name}` : String(n);
}

/** The chart's rows: unordered pairs in node order, each with its contacts both ways. */
export function timelineRows(plan: ContactPlan, nodes?: ReadonlySet<number>): { a: number; b: number; contacts: Contact[] }[] {
  const rows = new Map<string, { a: number; b: number; contacts: Contact[] }>();
  for (const c of plan.contacts) {
    if (nodes && nodes.size > 0 && !nodes.has(c.from) && !nodes.has(c.to)) continue;
    const a = Math.min(c.from, c.to);
    const b = Math.max(c.from, c.to);
    const key = `${a}-${b}`;
    const row = rows.get(key) ?? { a, b, contacts: [] };
    row.contacts.push(c);
    rows.set(key, row);
  }
  return [...rows.values()].sort((x, y) => x.a - y.a || x.b - y.b);
}

export function timelineSvg(plan: ContactPlan, o: TimelineOptions = {}): string {
  const rows = timelineRows(plan, o.nodes);
  const all = rows.flatMap((r) => r.contacts);
  const from = o.fromS ?? (all.length ? Math.min(...all.map((c) => c.start)) : 0);
  const to = o.toS ?? (all.length ? Math.max(...all.map((c) => c.end)) : 1);
  if (!(to > from)) throw new RouteArgumentError('to', `a time after --from (${from})`, to);
  const width = o.width ?? 1200;
  // Labels are measured (roughly: 7 px a character at 12 px), so long names never run into the bars.
  const labelW = Math.max(120, ...rows.map((r) => 7 * (label(r.a, o.names).length + label(r.b, o.names).length + 3) + 16));
  const plotW = width - labelW - 32;
  const height = TOP + rows.length * ROW_H + 34;
  const x = (t: number): number => labelW + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="contact-timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const clock = o.clock ?? (plan.epochMs === undefined ? undefined : { epochMs: plan.epochMs, timeScale: 1 });
  const at = (t: number): number => clock!.epochMs + (1000 * t) / clock!.timeScale;
  const epoch = clock === undefined ? 'relative plan (no epoch)' : `epoch ${utc(clock.epochMs)}${clock.timeScale === 1 ? '' : `, played at ${clock.timeScale} plan s per s`}`;
  out.push(`<text x="8" y="18" font-size="14" font-weight="bold">Contact plan: ${plan.contacts.length} contacts, ${rows.length} node pairs shown</text>`);
  out.push(`<text x="8" y="36" fill="#444">plan time ${f2(from)} s to ${f2(to)} s, ${epoch}; upper half of a row: lower node to higher, lower half: back</text>`);
  // Legend: only classes that appear, so a plan without --ground does not pretend to know them.
  const classes = [...new Set(all.map((c) => linkClass(c, o.ground)))].sort();
  let lx = width - 16;
  for (const k of [...classes].reverse()) {
    const text = k === 'isl' ? 'inter-satellite' : k === 'ground' ? 'ground link' : 'link (class unknown: no --ground)';
    lx -= text.length * 6.5 + 22;
    out.push(`<rect x="${f2(lx)}" y="8" width="14" height="10" fill="${LINK_COLOURS[k]}"/><text x="${f2(lx + 18)}" y="17">${text}</text>`);
  }
  // Axis: ticks at a round step giving at most ~12 of them.
  const step = TICK_STEPS_S.find((s) => (to - from) / s <= 12) ?? TICK_STEPS_S.at(-1)!;
  const bottom = TOP + rows.length * ROW_H;
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const tx = f2(x(t));
    out.push(`<line class="tick" x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${bottom}" stroke="#dddddd"/>`);
    const text = tickLabel(t, step, to);
    out.push(`<text x="${tx}" y="${TOP - 8}" text-anchor="middle" fill="#333">${text}</text>`);
    if (clock !== undefined) {
      out.push(`<text x="${tx}" y="${bottom + 14}" text-anchor="middle" fill="#666" font-size="10">${utc(at(t)).slice(11, clock.timeScale === 1 ? 16 : 19)}Z</text>`);
    }
  }
  out.push(`<text x="${width - 16}" y="${bottom + 28}" text-anchor="end" fill="#666" font-size="10">tick every ${span(step)}${clock === undefined ? '' : ' (UTC below)'}</text>`);
  rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${width}" height="${ROW_H}" fill="#f4f6f8"/>`);
    out.push(`<text x="8" y="${y + 15}" fill="#222">${escape(label(row.a, o.names))} – ${escape(label(row.b, o.names))}</text>`);
    for (const c of row.contacts) {
      if (c.end <= from || c.start >= to) continue;
      const k = linkClass(c, o.ground);
      const upper = c.from === row.a;
      const x0 = x(c.start);
      const w = Math.max(x(c.end) - x0, 1);
      const open = o.nowS !== undefined && openAt(c, o.nowS);
      const title = `${c.from} → ${c.to}: ${f2(c.start)} s to ${f2(c.end)} s (${f2(c.end - c.start)} s), ${c.rate} B/s, owlt ${c.owlt} s`;
      out.push(
        `<rect class="contact ${k}${open ? ' open' : ''}" data-from="${c.from}" data-to="${c.to}" data-start="${c.start}" data-end="${c.end}" ` +
        `x="${f2(x0)}" y="${y + (upper ? 3 : 11)}" width="${f2(w)}" height="8" fill="${LINK_COLOURS[k]}"${open ? ' stroke="#d32f2f" stroke-width="2"' : ''}><title>${title}</title></rect>`,
      );
    }
  });
  if (o.nowS !== undefined && o.nowS >= from && o.nowS <= to) {
    const nx = f2(x(o.nowS));
    out.push(`<line class="now" x1="${nx}" y1="${TOP - 4}" x2="${nx}" y2="${bottom}" stroke="#d32f2f" stroke-width="2"/>`);
    out.push(`<text x="${nx}" y="${bottom + 28}" text-anchor="middle" fill="#d32f2f" font-weight="bold">now ${f2(o.nowS)} s</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Plan seconds, or an ISO time for a plan with an epoch. */
export function planSeconds(option: string, text: string, plan: ContactPlan): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new RouteArgumentError(option, 'seconds after the plan epoch, or an ISO time', text);
  if (plan.epochMs === undefined) throw new RouteArgumentError(option, 'seconds (this plan has no epoch for an ISO time)', text);
  return (ms - plan.epochMs) / 1000;
}

export function nodeList(option: string, text: string | undefined): Set<number> | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  for (const p of parts) if (!/^[1-9]\d*$/.test(p)) throw new RouteArgumentError(option, 'node numbers separated by commas', text);
  return new Set(parts.map(Number));
}

const TIMELINE_USAGE = `usage: tern route timeline --plan FILE [--from T] [--to T] [--nodes N,...] [--ground N,...] --out FILE.svg

Draws the contact plan (ION, HDTN or Tern) as an SVG Gantt chart: one row per node pair (upper
half: the lower-numbered node sending, lower half: the other way), a bar per contact over plan
time, ground links green and inter-satellite links blue (the nodes given by --ground are ground
stations; without it every bar is grey). --from/--to: plan seconds or ISO times (a plan with an
epoch); default the whole plan. --nodes keeps the pairs with at least one of those nodes.
The same plan and options always give the same file.
Prints {"out", "rows", "contacts"}.

example:
  tern route timeline --plan flight/config/missions/constellation/plan.json --ground 10,11,100 --to 21600 --out plan.svg`;

export const TIMELINE_ACTION: RouteAction = {
  usage: TIMELINE_USAGE,
  options: { plan: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, nodes: { type: 'string' }, ground: { type: 'string' }, out: { type: 'string' } },
  run(values) {
    const file = values.plan as string | undefined;
    if (file === undefined) throw new RouteArgumentError('plan', 'a contact plan file');
    const out = values.out as string | undefined;
    if (out === undefined) throw new RouteArgumentError('out', 'an SVG file to write');
    const plan = readPlanFile(file);
    for (const s of plan.skipped) console.error(JSON.stringify({ warning: `${file}: ${s}: passed over` }));
    const nodes = nodeList('nodes', values.nodes as string | undefined);
    const ground = nodeList('ground', values.ground as string | undefined);
    const options: TimelineOptions = {
      names: planNames(file),
      ...(values.from === undefined ? {} : { fromS: planSeconds('from', values.from as string, plan) }),
      ...(values.to === undefined ? {} : { toS: planSeconds('to', values.to as string, plan) }),
      ...(nodes ? { nodes } : {}),
      ...(ground ? { ground } : {}),
    };
    const svg = timelineSvg(plan, options);
    writeFileSync(out, svg);
    return { out, rows: timelineRows(plan, nodes).length, contacts: (svg.match(/<rect class="contact /g) ?? []).length };
  },
};
