// The ground console's telemetry archive: one SQLite database per console (DIR/archive.sqlite)
// holding every housekeeping record, event, command sent and response received, with retention.
// Schema (version 1, in DESIGN.md): ground receive time `t_ms` (Unix ms) is every table's time
// axis, so a time range means the same thing for all of them.
//
// Durability: WAL with synchronous=FULL. store() commits (and fsyncs the WAL) before it returns,
// and the console acknowledges a bundle to the ground station only after store() returned, so
// the station forgets only what is on disk here. NORMAL would survive SIGKILL too (the WAL is in
// the page cache) but not a power loss of the ground machine, and the station would already have
// dropped its copy: a lost hour of telemetry is worth more than one fsync per bundle.
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResponse } from '../../flight/cmd/dispatcher.js';
import { TernError } from '../../flight/errors.js';
import type { DownlinkItem } from '../tlm.js';

export const ARCHIVE_FILE = 'archive.sqlite';
export const SCHEMA_VERSION = 1;

/** The archive cannot be opened or written: names the file and what SQLite said. */
export class ArchiveError extends TernError {
  readonly code: 'ARCHIVE_CORRUPT' | 'ARCHIVE_FULL' | 'ARCHIVE_IO' | 'ARCHIVE_SCHEMA';
  constructor(readonly file: string, code: ArchiveError['code'], detail: string) {
    super(`archive ${file}: ${detail}`);
    this.name = 'ArchiveError';
    this.code = code;
  }
}

/** SQLite's error codes, mapped to what an operator can do about them. */
function archiveError(file: string, error: unknown): ArchiveError | unknown {
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message;
  if (code === 'SQLITE_FULL') return new ArchiveError(file, 'ARCHIVE_FULL', `full (${message}): free disk space or shorten the retention; nothing more is stored or acknowledged until then`);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) {
    return new ArchiveError(file, 'ARCHIVE_CORRUPT', `damaged (${message}): move it aside to start a new archive, or recover it with sqlite3 .recover`);
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) {
    return new ArchiveError(file, 'ARCHIVE_IO', `cannot be written (${message})`);
  }
  return error;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channel (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS hk (
  id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, node INTEGER NOT NULL,
  seq INTEGER NOT NULL, frame INTEGER NOT NULL, mode TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hk_time ON hk (t_ms);
CREATE TABLE IF NOT EXISTS sample (
  channel INTEGER NOT NULL, t_ms INTEGER NOT NULL, hk INTEGER NOT NULL, node INTEGER NOT NULL, value REAL NOT NULL,
  PRIMARY KEY (channel, t_ms, hk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event (
  id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, node INTEGER NOT NULL, event_id INTEGER NOT NULL,
  name TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, args TEXT NOT NULL, time_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS event_time ON event (t_ms);
CREATE TABLE IF NOT EXISTS command (
  id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, node INTEGER NOT NULL, command TEXT NOT NULL, opcode INTEGER NOT NULL,
  args TEXT NOT NULL, operator INTEGER NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL, signatures INTEGER NOT NULL,
  sent_by TEXT NOT NULL, outcome TEXT NOT NULL, envelope BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS command_time ON command (t_ms);
CREATE TABLE IF NOT EXISTS response (
  id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, node INTEGER NOT NULL, status TEXT NOT NULL, command TEXT,
  digest TEXT, operator INTEGER, seq INTEGER, reason TEXT, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS response_time ON response (t_ms);
CREATE INDEX IF NOT EXISTS response_digest ON response (digest);
`;

export interface Sample { readonly tMs: number; readonly node: number; readonly channel: string; readonly value: number }
export interface HkRow { readonly tMs: number; readonly node: number; readonly seq: number; readonly frame: number; readonly mode: string }
export interface EventRow {
  readonly id: number; readonly tMs: number; readonly node: number; readonly eventId: number; readonly name: string;
  readonly severity: string; readonly message: string; readonly args: Record<string, unknown>; readonly timeUs: number;
}
export interface CommandRow {
  readonly id: number; readonly tMs: number; readonly node: number; readonly command: string; readonly opcode: number;
  readonly args: Record<string, unknown>; readonly operator: number; readonly seq: number; readonly digest: string;
  readonly signatures: number; readonly sentBy: string; readonly outcome: string;
}
export interface ResponseRow { readonly id: number; readonly tMs: number; readonly node: number; readonly record: CommandResponse }
export type NewCommand = Omit<CommandRow, 'id'> & { readonly envelope: Uint8Array };

export interface Range { readonly fromMs: number; readonly toMs: number }

export interface ArchiveOptions {
  /** Rows older than this many days are deleted (default 30). */
  readonly retentionDays?: number;
  /** Upper bound on the database's pages (tests make a "full disk" with it). */
  readonly maxPages?: number;
}

/** JSON with byte strings as hex, as the terminal console prints them. */
export function plainJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? `hex:${Buffer.from(raw).toString('hex')}` : v;
  });
}

const DAY_MS = 86_400_000;
/** Rows deleted per retention step: a step holds the write lock for milliseconds, not seconds. */
const RETENTION_STEP_ROWS = 5000;

export class Archive {
  readonly file: string;
  readonly retentionMs: number;
  private readonly db: Db;
  private readonly channelIds = new Map<string, number>();
  private readonly insertHk: Statement;
  private readonly insertSample: Statement;
  private readonly insertEvent: Statement;
  private readonly insertResponse: Statement;
  private readonly insertChannel: Statement;
  private readonly storeItems: (items: readonly DownlinkItem[], receivedMs: number) => void;

  /** Opens (creating) DIR/archive.sqlite; throws ArchiveError for a damaged or unwritable file. */
  constructor(dir: string, options: ArchiveOptions = {}) {
    this.file = join(dir, ARCHIVE_FILE);
    this.retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    try {
      mkdirSync(dir, { recursive: true });
      this.db = new Database(this.file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      if (options.maxPages !== undefined) this.db.pragma(`max_page_count = ${options.maxPages}`);
      this.db.exec(SCHEMA);
      this.checkSchema();
    } catch (error) {
      throw archiveError(this.file, error);
    }
    for (const row of this.db.prepare('SELECT id, name FROM channel').all() as Array<{ id: number; name: string }>) this.channelIds.set(row.name, row.id);
    this.insertChannel = this.db.prepare('INSERT INTO channel (name) VALUES (?)');
    this.insertHk = this.db.prepare('INSERT INTO hk (t_ms, node, seq, frame, mode) VALUES (?, ?, ?, ?, ?)');
    this.insertSample = this.db.prepare('INSERT INTO sample (channel, t_ms, hk, node, value) VALUES (?, ?, ?, ?, ?)');
    this.insertEvent = this.db.prepare('INSERT INTO event (t_ms, node, event_id, name, severity, message, args, time_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertResponse = this.db.prepare('INSERT INTO response (t_ms, node, status, command, digest, operator, seq, reason, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.storeItems = this.db.transaction((items: readonly DownlinkItem[], receivedMs: number) => {
      for (const item of items) this.storeItem(item, receivedMs);
    });
  }

  private checkSchema(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
    if (row === undefined) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    } else if (row.value !== String(SCHEMA_VERSION)) {
      throw new ArchiveError(this.file, 'ARCHIVE_SCHEMA', `schema version ${row.value}, this console reads ${SCHEMA_VERSION}`);
    }
  }

  /**
   * Stores the items of one received bundle in one transaction, durable when this returns.
   * Throws ArchiveError (full, damaged, I/O): then nothing of the bundle is stored.
   */
  store(items: readonly DownlinkItem[], receivedMs = Date.now()): void {
    try {
      this.storeItems(items, receivedMs);
    } catch (error) {
      throw archiveError(this.file, error);
    }
  }

  private channelId(name: string): number {
    let id = this.channelIds.get(name);
    if (id === undefined) {
      id = Number(this.insertChannel.run(name).lastInsertRowid);
      this.channelIds.set(name, id);
    }
    return id;
  }

  private storeItem(item: DownlinkItem, t: number): void {
    switch (item.kind) {
      case 'hk': {
        const h = item.record;
        const hk = this.insertHk.run(t, h.node, h.seq, h.frame, h.mode).lastInsertRowid;
        for (const name in h.channels) this.insertSample.run(this.channelId(name), t, hk, h.node, h.channels[name]);
        break;
      }
      case 'evt': {
        const e = item.record;
        this.insertEvent.run(t, e.node, e.id, e.name, e.severity, e.message, plainJson(e.args), Math.round(e.timeUs));
        break;
      }
      case 'rsp': {
        const r = item.record;
        this.insertResponse.run(t, r.node, r.status, r.command ?? null, r.digest ?? null, r.operator ?? null, r.seq ?? null, r.reason ?? null, plainJson(r));
        break;
      }
    }
  }

  /** Records a command the console sent (or failed to send), with who sent it. */
  recordCommand(command: NewCommand): number {
    try {
      return Number(this.db.prepare(
        'INSERT INTO command (t_ms, node, command, opcode, args, operator, seq, digest, signatures, sent_by, outcome, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(command.tMs, command.node, command.command, command.opcode, plainJson(command.args), command.operator, command.seq,
        command.digest, command.signatures, command.sentBy, command.outcome, command.envelope).lastInsertRowid);
    } catch (error) {
      throw archiveError(this.file, error);
    }
  }

  /** Channel names ever stored, sorted. */
  channels(): string[] {
    return [...this.channelIds.keys()].sort();
  }

  /** Samples of `channel` in [fromMs, toMs], oldest first, optionally of one node. */
  samples(channel: string, range: Range, node?: number, limit = 1_000_000): Sample[] {
    const id = this.channelIds.get(channel);
    if (id === undefined) return [];
    const rows = this.db.prepare(
      `SELECT t_ms AS tMs, node, value FROM sample WHERE channel = ? AND t_ms BETWEEN ? AND ?${node === undefined ? '' : ' AND node = ?'} ORDER BY t_ms, hk LIMIT ?`,
    ).all(...[id, range.fromMs, range.toMs, ...(node === undefined ? [] : [node]), limit]) as Array<{ tMs: number; node: number; value: number }>;
    return rows.map((r) => ({ tMs: r.tMs, node: r.node, channel, value: r.value }));
  }

  housekeeping(range: Range, limit = 100_000): HkRow[] {
    return this.db.prepare('SELECT t_ms AS tMs, node, seq, frame, mode FROM hk WHERE t_ms BETWEEN ? AND ? ORDER BY id LIMIT ?').all(range.fromMs, range.toMs, limit) as HkRow[];
  }

  events(range: Range, filter: { node?: number; severity?: string; text?: string } = {}, limit = 1000): EventRow[] {
    const where = ['t_ms BETWEEN ? AND ?'];
    const params: unknown[] = [range.fromMs, range.toMs];
    if (filter.node !== undefined) (where.push('node = ?'), params.push(filter.node));
    if (filter.severity) (where.push('severity = ?'), params.push(filter.severity));
    if (filter.text) (where.push("(instr(lower(message), lower(?)) > 0 OR instr(lower(name), lower(?)) > 0)"), params.push(filter.text, filter.text));
    // The newest `limit` rows, returned oldest first.
    const rows = this.db.prepare(
      `SELECT * FROM (SELECT id, t_ms AS tMs, node, event_id AS eventId, name, severity, message, args, time_us AS timeUs FROM event WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?) ORDER BY id`,
    ).all(...params, limit) as Array<Omit<EventRow, 'args'> & { args: string }>;
    return rows.map((r) => ({ ...r, args: JSON.parse(r.args) as Record<string, unknown> }));
  }

  commands(range: Range, limit = 1000): CommandRow[] {
    const rows = this.db.prepare(
      'SELECT * FROM (SELECT id, t_ms AS tMs, node, command, opcode, args, operator, seq, digest, signatures, sent_by AS sentBy, outcome FROM command WHERE t_ms BETWEEN ? AND ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    ).all(range.fromMs, range.toMs, limit) as Array<Omit<CommandRow, 'args'> & { args: string }>;
    return rows.map((r) => ({ ...r, args: JSON.parse(r.args) as Record<string, unknown> }));
  }

  responses(range: Range, limit = 1000): ResponseRow[] {
    const rows = this.db.prepare(
      'SELECT * FROM (SELECT id, t_ms AS tMs, node, record FROM response WHERE t_ms BETWEEN ? AND ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    ).all(range.fromMs, range.toMs, limit) as Array<{ id: number; tMs: number; node: number; record: string }>;
    return rows.map((r) => ({ id: r.id, tMs: r.tMs, node: r.node, record: JSON.parse(r.record) as CommandResponse }));
  }

  /**
   * Deletes up to RETENTION_STEP_ROWS rows per table older than the retention; returns how many
   * it deleted (call again while it returns more than 0: the caller spreads the work over time).
   */
  expire(nowMs = Date.now()): number {
    const before = nowMs - this.retentionMs;
    try {
      return this.db.transaction(() => {
        let deleted = 0;
        for (const id of this.channelIds.values()) {
          deleted += this.db.prepare('DELETE FROM sample WHERE channel = ? AND t_ms IN (SELECT t_ms FROM sample WHERE channel = ? AND t_ms < ? ORDER BY t_ms LIMIT ?)')
            .run(id, id, before, RETENTION_STEP_ROWS).changes;
        }
        for (const table of ['hk', 'event', 'command', 'response']) {
          deleted += this.db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE t_ms < ? ORDER BY t_ms LIMIT ?)`).run(before, RETENTION_STEP_ROWS).changes;
        }
        return deleted;
      })();
    } catch (error) {
      throw archiveError(this.file, error);
    }
  }

  /** Rows per table, for the console's status line and tests. */
  counts(): Record<'hk' | 'sample' | 'event' | 'command' | 'response', number> {
    const count = (table: string): number => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { hk: count('hk'), sample: count('sample'), event: count('event'), command: count('command'), response: count('response') };
  }

  close(): void {
    this.db.close();
  }
}
