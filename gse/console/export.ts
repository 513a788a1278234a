// Archive export as CSV or NDJSON: channel samples, events, commands sent, responses received.
// `tern gse export` writes them to a file or stdout; the console's page downloads the same text.
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseOptions } from '../../flight/cli-args.js';
import { TernError } from '../../flight/errors.js';
import { Archive, plainJson, type Range } from './archive.js';

export const EXPORT_USAGE = `usage: tern gse export [--archive DIR] [--from TIME] [--to TIME] [--format csv|ndjson] [--out FILE]
                      (--channel NAME ... [--node N] | --events | --commands | --responses)

Writes what the ground console archived (DIR/archive.sqlite, default var/console) between
--from and --to (ISO 8601 or Unix ms; default the last 24 hours up to now): samples of each
--channel, or the events, commands sent (with who sent them) or responses received.

example:
  tern gse export --archive var/console --channel dtn.store.bundles --format csv`;

export type ExportKind = 'samples' | 'events' | 'commands' | 'responses';
export type ExportFormat = 'csv' | 'ndjson';

export interface ExportQuery {
  readonly kind: ExportKind;
  readonly range: Range;
  readonly channels?: readonly string[];
  readonly node?: number;
  readonly format: ExportFormat;
}

export class ExportUsageError extends TernError {
  readonly code = 'GSE_EXPORT_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'ExportUsageError';
  }
}

/** A CSV field quoted when it must be (RFC 4180). */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? plainJson(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function* table(format: ExportFormat, columns: readonly string[], rows: Iterable<Record<string, unknown>>): Generator<string> {
  if (format === 'csv') yield `${columns.join(',')}\r\n`;
  for (const row of rows) {
    yield format === 'csv' ? `${columns.map((c) => csvField(row[c])).join(',')}\r\n` : `${plainJson(row)}\n`;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The export as chunks of text, in time order. */
export function* exportLines(archive: Archive, q: ExportQuery): Generator<string> {
  switch (q.kind) {
    case 'samples': {
      const channels = q.channels ?? [];
      if (channels.length === 0) throw new ExportUsageError('give at least one --channel NAME (or --events, --commands, --responses)');
      const rows = channels.flatMap((c) => archive.samples(c, q.range, q.node)).sort((a, b) => a.tMs - b.tMs);
      yield* table(q.format, ['time', 'tMs', 'node', 'channel', 'value'], rows.map((s) => ({ time: iso(s.tMs), ...s })));
      break;
    }
    case 'events':
      yield* table(q.format, ['time', 'tMs', 'node', 'severity', 'name', 'eventId', 'message', 'args'],
        archive.events(q.range, q.node === undefined ? {} : { node: q.node }, 1_000_000).map((e) => ({ time: iso(e.tMs), ...e })));
      break;
    case 'commands':
      yield* table(q.format, ['time', 'tMs', 'node', 'command', 'opcode', 'args', 'operator', 'seq', 'digest', 'signatures', 'sentBy', 'outcome'],
        archive.commands(q.range, 1_000_000).map((c) => ({ time: iso(c.tMs), ...c })));
      break;
    case 'responses':
      yield* table(q.format, ['time', 'tMs', 'node', 'status', 'command', 'digest', 'operator', 'seq', 'reason', 'detail', 'result'],
        archive.responses(q.range, 1_000_000).map((r) => ({ time: iso(r.tMs), tMs: r.tMs, ...r.record })));
      break;
  }
}

/** ISO 8601 or Unix milliseconds. */
export function parseTime(option: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) throw new ExportUsageError(`${option} must be an ISO 8601 time or Unix milliseconds, got ${JSON.stringify(text)}`);
  return ms;
}

export async function runExport(argv: string[]): Promise<number> {
  try {
    return await exportMain(argv);
  } catch (error) {
    if (!(error instanceof TernError)) throw error;
    process.stderr.write(`tern gse export: ${(error as Error).message}\n`);
    return 2;
  }
}

async function exportMain(argv: string[]): Promise<number> {
  const { values } = parseOptions('tern gse export', {
    archive: { type: 'string', default: 'var/console' }, from: { type: 'string' }, to: { type: 'string' },
    channel: { type: 'string', multiple: true }, node: { type: 'string' }, events: { type: 'boolean' },
    commands: { type: 'boolean' }, responses: { type: 'boolean' }, format: { type: 'string', default: 'csv' },
    out: { type: 'string' }, help: { type: 'boolean' },
  }, argv);
  if (values.help) {
    console.log(EXPORT_USAGE);
    return 0;
  }
  const kinds = [values.channel ? 'samples' : undefined, values.events ? 'events' : undefined, values.commands ? 'commands' : undefined, values.responses ? 'responses' : undefined]
    .filter((k): k is ExportKind => k !== undefined);
  if (kinds.length !== 1) throw new ExportUsageError(`give exactly one of --channel NAME, --events, --commands, --responses\n${EXPORT_USAGE}`);
  if (values.format !== 'csv' && values.format !== 'ndjson') throw new ExportUsageError(`--format must be csv or ndjson, got ${JSON.stringify(values.format)}`);
  const toMs = values.to === undefined ? Date.now() : parseTime('--to', values.to);
  const fromMs = values.from === undefined ? toMs - 86_400_000 : parseTime('--from', values.from);
  if (fromMs > toMs) throw new ExportUsageError('--from is after --to');
  const node = values.node === undefined ? undefined : Number(values.node);
  if (node !== undefined && !(Number.isSafeInteger(node) && node > 0)) throw new ExportUsageError(`--node must be a node number, got ${JSON.stringify(values.node)}`);
  const archive = new Archive(values.archive);
  try {
    const lines = exportLines(archive, { kind: kinds[0]!, range: { fromMs, toMs }, format: values.format, ...(values.channel ? { channels: values.channel } : {}), ...(node === undefined ? {} : { node }) });
    const out: Writable = values.out === undefined ? process.stdout : createWriteStream(values.out);
    let rows = -1;
    for (const line of lines) {
      rows++;
      if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    if (values.out !== undefined) {
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
      console.error(`tern gse export: ${Math.max(0, values.format === 'csv' ? rows : rows + 1)} ${kinds[0]} -> ${values.out}`);
    }
  } finally {
    archive.close();
  }
  return 0;
}
