// ION contact plans as ionadmin reads them (ionrc(5)): `a contact START STOP FROM TO RATE
// [CONFIDENCE]` and `a range START STOP NODE NODE OWLT`, times `+SECONDS` after the reference
// time or absolute `yyyy/mm/dd-hh:mm:ss` UTC, `@ TIME` moving the reference time. Other ionadmin
// commands (1, s, m, e, ...) configure the node, not the plan, and are skipped.
//
// Ranges follow ION: a range whose first node is the smaller also declares the reverse direction
// unless the file declares the reverse itself. The pyCGR dialect of the CGR tutorial carries the
// range as the contact line's sixth value instead of a confidence; a file with no range lines
// whose contact lines all have six values is read that way.
import { ContactPlanError } from './errors.js';
import { buildPlan, type BuildOptions, type ContactDraft, type ContactPlan, type RangeDraft } from './plan.js';

export type IonDialect = 'ion' | 'pycgr';

const ABSOLUTE = /^(\d{4})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})$/;
const RELATIVE = /^\+(\d+(\.\d+)?)$/;

function absoluteMs(text: string): number | undefined {
  const m = ABSOLUTE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

export function parseIonPlan(text: string, options: BuildOptions & { dialect?: IonDialect }): ContactPlan {
  const { source } = options;
  const lines = text.split(/\r?\n/).map((l) => l.trim().split(/\s+/).filter((t) => t !== ''));
  const fail = (line: number, expected: string, got?: unknown): never => {
    throw new ContactPlanError(source, `line ${line}`, expected, got);
  };
  // Absolute times need an epoch: the caller's, else the earliest absolute time in the file.
  let epochMs = options.epochMs;
  if (epochMs === undefined) {
    for (const tokens of lines) {
      for (const t of tokens) {
        const ms = absoluteMs(t);
        if (ms !== undefined && (epochMs === undefined || ms < epochMs)) epochMs = ms;
      }
    }
  }
  const isPlanLine = (t: string[]): boolean => t[0] === 'a' && (t[1] === 'contact' || t[1] === 'range');
  const contactLines = lines.filter((t) => isPlanLine(t) && t[1] === 'contact');
  const hasRanges = lines.some((t) => isPlanLine(t) && t[1] === 'range');
  const dialect = options.dialect ??
    (!hasRanges && contactLines.length > 0 && contactLines.every((t) => t.length === 8) ? 'pycgr' : 'ion');

  let reference = 0; // plan seconds
  const time = (token: string | undefined, line: number, field: string): number => {
    if (token === undefined) return fail(line, `a ${field} time`, 'end of line');
    const rel = RELATIVE.exec(token);
    if (rel) return reference + Number(rel[1]);
    const ms = absoluteMs(token);
    if (ms !== undefined) return (ms - epochMs!) / 1000;
    return fail(line, `a ${field} time (+SECONDS or yyyy/mm/dd-hh:mm:ss)`, token);
  };
  const num = (token: string | undefined, line: number, field: string): number => {
    if (token === undefined || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(token)) return fail(line, `a number for ${field}`, token ?? 'end of line');
    return Number(token);
  };
  const node = (token: string | undefined, line: number, field: string): number => {
    if (token === undefined || !/^\d+$/.test(token)) return fail(line, `a node number for ${field}`, token ?? 'end of line');
    return Number(token);
  };

  const contacts: ContactDraft[] = [];
  const ranges: RangeDraft[] = [];
  lines.forEach((t, i) => {
    const line = i + 1;
    if (t.length === 0 || t[0]!.startsWith('#')) return;
    if (t[0] === '@') {
      reference = time(t[1], line, 'reference');
      return;
    }
    if (t[0] === 'a' || t[0] === 'c' || t[0] === 'd') {
      if (t[1] !== 'contact' && t[1] !== 'range') return fail(line, '"contact" or "range" after "a"', t[1] ?? 'end of line');
      if (t[0] !== 'a') return fail(line, 'only "a contact" and "a range" in a plan file', `${t[0]} ${t[1]}`);
    } else {
      return; // a node-configuration command of ionadmin, not part of the plan
    }
    const where = `line ${line}`;
    if (t[1] === 'contact') {
      // Registration (start -1) and hypothetical (stop 0) contacts schedule nothing to route over.
      if (t[2] === '-1' || t[3] === '0') return;
      if (t.length < 7 || t.length > 8) fail(line, 'a contact START STOP FROM TO RATE [CONFIDENCE]', t.join(' '));
      const draft: ContactDraft = {
        where,
        start: time(t[2], line, 'start'),
        end: time(t[3], line, 'stop'),
        from: node(t[4], line, 'from'),
        to: node(t[5], line, 'to'),
        rate: num(t[6], line, 'rate'),
      };
      if (t[7] !== undefined) {
        if (dialect === 'pycgr') draft.owlt = num(t[7], line, 'range');
        else draft.confidence = num(t[7], line, 'confidence');
      }
      if (draft.from === draft.to) return; // ION's loopback contact: nothing to route
      contacts.push(draft);
      return;
    }
    if (t.length !== 7) fail(line, 'a range START STOP NODE NODE OWLT', t.join(' '));
    const range: RangeDraft = {
      where,
      start: time(t[2], line, 'start'),
      end: time(t[3], line, 'stop'),
      from: node(t[4], line, 'from'),
      to: node(t[5], line, 'to'),
      owlt: num(t[6], line, 'owlt'),
    };
    if (range.from !== range.to) ranges.push(range);
  });
  // ION's implied reverse ranges: only from a range whose first node is the smaller, and only
  // where the file gives no range of its own for the reverse direction.
  const declared = new Set(ranges.map((r) => `${r.from}>${r.to}`));
  const implied = ranges
    .filter((r) => r.from < r.to && !declared.has(`${r.to}>${r.from}`))
    .map((r) => ({ ...r, from: r.to, to: r.from }));
  return buildPlan(contacts, [...ranges, ...implied], { ...options, epochMs });
}

function ionTime(seconds: number): string {
  return `+${Number.isInteger(seconds) ? seconds : seconds.toFixed(3)}`;
}

/** The plan as ionadmin lines, relative to its epoch (the first line says which epoch). */
export function formatIonPlan(plan: ContactPlan): string {
  const out = [`# Tern contact plan; times relative to ${plan.epochMs === undefined ? 'the mission time origin' : new Date(plan.epochMs).toISOString()}`];
  for (const c of plan.contacts) {
    out.push(`a contact ${ionTime(c.start)} ${ionTime(c.end)} ${c.from} ${c.to} ${Math.round(c.rate)}${c.confidence === 1 ? '' : ` ${c.confidence}`}`);
  }
  // One range per contact with the contact's one-way light time (the largest of its ranges).
  for (const c of plan.contacts) out.push(`a range ${ionTime(c.start)} ${ionTime(c.end)} ${c.from} ${c.to} ${c.owlt}`);
  return `${out.join('\n')}\n`;
}
