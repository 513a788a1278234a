// HDTN's JSON contact plans (module/router/contact_plans): {"contacts": [{"contact", "source",
// "dest", "startTime", "endTime", "rateBitsPerSec", "owlt"}]}, times in seconds relative to the
// plan's start, rates in bits per second (Tern's model holds bytes per second). As HDTN's router
// does, a pair's contacts may overlap; a contact that ends before it starts can never carry data
// (HDTN's own 10-node plan has six) and is passed over, listed in plan.skipped.
import { ContactPlanError } from './errors.js';
import { buildPlan, type BuildOptions, type ContactDraft, type ContactPlan } from './plan.js';

export function parseHdtnPlan(json: unknown, options: BuildOptions): ContactPlan {
  const { source } = options;
  const fail = (where: string, expected: string, got?: unknown): never => {
    throw new ContactPlanError(source, where, expected, got);
  };
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { contacts?: unknown }).contacts)) {
    fail('contacts', 'an array of contacts');
  }
  const list = (json as { contacts: unknown[] }).contacts;
  const skipped: string[] = [];
  const drafts = list.map((raw, i): ContactDraft => {
    const where = `contacts[${i}]`;
    if (typeof raw !== 'object' || raw === null) return fail(where, 'an object', raw);
    const c = raw as Record<string, unknown>;
    const num = (field: string): number => {
      const v = c[field];
      return typeof v === 'number' ? v : fail(`${where}.${field}`, 'a number', v === undefined ? 'nothing' : JSON.stringify(v));
    };
    return {
      where,
      from: num('source'),
      to: num('dest'),
      start: num('startTime'),
      end: num('endTime'),
      rate: num('rateBitsPerSec') / 8,
      owlt: num('owlt'),
    };
  });
  const usable = drafts.filter((d) => {
    const never = Number.isFinite(d.start) && Number.isFinite(d.end) && d.end <= d.start;
    if (never) skipped.push(`${d.where}: ends (${d.end}) before it starts (${d.start})`);
    return !never;
  });
  return buildPlan(usable, [], { ...options, allowOverlap: true, skipped });
}

export function formatHdtnPlan(plan: ContactPlan): string {
  const contacts = plan.contacts.map((c) => ({
    contact: c.id,
    source: c.from,
    dest: c.to,
    startTime: c.start,
    endTime: c.end,
    rateBitsPerSec: Math.round(c.rate * 8),
    owlt: c.owlt,
  }));
  return `${JSON.stringify({ contacts }, null, 1)}\n`;
}
