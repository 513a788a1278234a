// Tern's own JSON contact plan (DESIGN.md, "Tern's plan format"): the model as it is, with an
// absolute epoch, the node list, contacts with their one-way light time, and piecewise ranges.
import { ContactPlanError } from './errors.js';
import { buildPlan, type BuildOptions, type ContactDraft, type ContactPlan, type RangeDraft } from './plan.js';

export const TERN_PLAN_FORMAT = 'tern-contact-plan/1';

export function parseTernPlan(json: unknown, options: BuildOptions): ContactPlan {
  const { source } = options;
  const fail = (where: string, expected: string, got?: unknown): never => {
    throw new ContactPlanError(source, where, expected, got);
  };
  if (typeof json !== 'object' || json === null) return fail('(top)', 'a JSON object');
  const top = json as Record<string, unknown>;
  if (top.format !== TERN_PLAN_FORMAT) fail('format', JSON.stringify(TERN_PLAN_FORMAT), top.format ?? 'nothing');
  let epochMs = options.epochMs;
  if (top.epoch !== undefined) {
    const ms = typeof top.epoch === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(top.epoch) ? Date.parse(top.epoch) : NaN;
    if (Number.isNaN(ms)) fail('epoch', 'an ISO 8601 UTC time', top.epoch);
    epochMs = ms;
  }
  let knownNodes = options.knownNodes;
  if (top.nodes !== undefined) {
    if (!Array.isArray(top.nodes)) return fail('nodes', 'an array of {"node", "name"}', top.nodes);
    const declared = new Set<number>();
    top.nodes.forEach((n: unknown, i) => {
      const node = typeof n === 'object' && n !== null ? (n as { node?: unknown }).node : undefined;
      if (typeof node !== 'number' || !Number.isSafeInteger(node) || node < 1) fail(`nodes[${i}].node`, 'an ipn node number', node ?? 'nothing');
      if (knownNodes && !knownNodes.has(node as number)) fail(`nodes[${i}].node`, 'a node of the mission', node);
      declared.add(node as number);
    });
    knownNodes = declared;
  }
  const entries = (field: 'contacts' | 'ranges'): Array<{ where: string; get: (k: string, optional?: boolean) => number | undefined }> => {
    const raw = top[field];
    if (raw === undefined && field === 'ranges') return [];
    if (!Array.isArray(raw)) return fail(field, 'an array', raw ?? 'nothing');
    return raw.map((item: unknown, i) => {
      const where = `${field}[${i}]`;
      if (typeof item !== 'object' || item === null) fail(where, 'an object', item);
      const o = item as Record<string, unknown>;
      return {
        where,
        get: (k: string, optional = false) => {
          const v = o[k];
          if (v === undefined && optional) return undefined;
          return typeof v === 'number' ? v : fail(`${where}.${k}`, 'a number', v === undefined ? 'nothing' : JSON.stringify(v));
        },
      };
    });
  };
  const contacts = entries('contacts').map(({ where, get }): ContactDraft => ({
    where,
    from: get('from')!,
    to: get('to')!,
    start: get('start')!,
    end: get('end')!,
    rate: get('rate')!,
    owlt: get('owlt', true),
    confidence: get('confidence', true),
  }));
  const ranges = entries('ranges').map(({ where, get }): RangeDraft => ({
    where,
    from: get('from')!,
    to: get('to')!,
    start: get('start')!,
    end: get('end')!,
    owlt: get('owlt')!,
  }));
  return buildPlan(contacts, ranges, { ...options, epochMs, knownNodes });
}

export function formatTernPlan(plan: ContactPlan, names?: ReadonlyMap<number, string>): string {
  const doc = {
    format: TERN_PLAN_FORMAT,
    ...(plan.epochMs === undefined ? {} : { epoch: new Date(plan.epochMs).toISOString() }),
    nodes: plan.nodes.map((node) => (names?.has(node) ? { node, name: names.get(node) } : { node })),
    contacts: plan.contacts.map((c) => ({
      from: c.from, to: c.to, start: c.start, end: c.end, rate: c.rate, owlt: c.owlt,
      ...(c.confidence === 1 ? {} : { confidence: c.confidence }),
    })),
    ranges: plan.ranges,
  };
  // One contact or range per line: plans are long and people diff them.
  const lines = (items: unknown[]): string => items.map((x) => `  ${JSON.stringify(x)}`).join(',\n');
  const head = JSON.stringify({ format: doc.format, ...('epoch' in doc ? { epoch: doc.epoch } : {}) }).slice(0, -1);
  return `${head},\n"nodes": ${JSON.stringify(doc.nodes)},\n"contacts": [\n${lines(doc.contacts)}\n],\n"ranges": [\n${lines(doc.ranges as unknown[])}\n]}\n`;
}
