// The console's web API and page: node:http (or https), one handler, routes by method and path.
// Reads need a session; anything that changes something needs the session's CSRF token too
// (auth.ts). Static files are the page's own and uPlot's, from this package: nothing from a CDN.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dictionary } from '../../flight/cmd/export.js';
import { TernError } from '../../flight/errors.js';
import type { Logger } from '../../flight/log.js';
import type { Archive, Range } from './archive.js';
import { AuthError, type Session, type Sessions } from './auth.js';
import type { CommandDesk, CommandForm } from './desk.js';
import { exportLines, parseTime, type ExportFormat, type ExportKind } from './export.js';
import type { LiveState } from './live.js';
import type { ContactsView } from './timeline.js';

/** Counters of the ground side, shown in the page's status line. */
export interface GroundCounters {
  bundles: number;
  items: number;
  malformed: number;
  archiveErrors: number;
  lastArchiveError?: string;
}

export interface ConsoleContext {
  readonly dictionary: Dictionary;
  readonly archive: Archive;
  readonly live: LiveState;
  readonly desk: CommandDesk;
  readonly sessions: Sessions;
  readonly counters: GroundCounters;
  readonly log: Logger;
  readonly contacts?: ContactsView;
}

/** The package root (where package.json is), from source and from dist alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tern: package root not found above gse/console');
    dir = parent;
  }
  return dir;
}

const ROOT = packageRoot();
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'gse/console/static/index.html', type: 'text/html; charset=utf-8' },
  '/login': { file: 'gse/console/static/login.html', type: 'text/html; charset=utf-8' },
  '/static/console.js': { file: 'gse/console/static/console.js', type: 'text/javascript; charset=utf-8' },
  '/static/dom.js': { file: 'gse/console/static/dom.js', type: 'text/javascript; charset=utf-8' },
  '/static/plots.js': { file: 'gse/console/static/plots.js', type: 'text/javascript; charset=utf-8' },
  '/static/commands.js': { file: 'gse/console/static/commands.js', type: 'text/javascript; charset=utf-8' },
  '/static/contacts.js': { file: 'gse/console/static/contacts.js', type: 'text/javascript; charset=utf-8' },
  '/static/console.css': { file: 'gse/console/static/console.css', type: 'text/css; charset=utf-8' },
  '/static/uPlot.iife.min.js': { file: 'node_modules/uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/static/uPlot.min.css': { file: 'node_modules/uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};
/** The page may load only what this console serves. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const MAX_BODY_BYTES = 1 << 20;

class HttpError extends TernError {
  readonly code = 'CONSOLE_BAD_REQUEST';
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

function body(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await body(request)).toString('utf8');
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below, as for any other shape
  }
  throw new HttpError(400, 'expected a JSON object');
}

function send(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers });
  response.end(JSON.stringify(value));
}

function range(query: URLSearchParams, defaultSpanMs: number): Range {
  const to = query.get('to');
  const from = query.get('from');
  const toMs = to ? parseTime('to', to) : Date.now();
  return { fromMs: from ? parseTime('from', from) : toMs - defaultSpanMs, toMs };
}

function optionalNode(query: URLSearchParams): number | undefined {
  const text = query.get('node');
  if (text === null || text === '') return undefined;
  const node = Number(text);
  if (!Number.isSafeInteger(node) || node < 1) throw new HttpError(400, `node must be a node number, got ${JSON.stringify(text)}`);
  return node;
}

function state(ctx: ConsoleContext, session: Session): unknown {
  return {
    user: session.user, csrf: session.csrf, operator: ctx.desk.operator ?? null, nodes: ctx.live.overview(),
    held: ctx.desk.heldCommands(), archive: { file: ctx.archive.file, retentionDays: ctx.archive.retentionMs / 86_400_000, ...ctx.archive.counts() },
    ground: ctx.counters, pagesDropped: ctx.live.pagesDropped, dictionary: ctx.dictionary.hash,
  };
}

async function api(ctx: ConsoleContext, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const q = url.searchParams;
  const path = url.pathname;
  if (request.method === 'GET') {
    const session = ctx.sessions.session(request);
    if (path === '/api/state') return send(response, 200, state(ctx, session));
    if (path === '/api/dictionary') return send(response, 200, { hash: ctx.dictionary.hash, commands: ctx.dictionary.commands, channels: ctx.dictionary.channels, events: ctx.dictionary.events });
    if (path === '/api/stream') return ctx.live.watch(response);
    if (path === '/api/events') {
      const filter = { ...(optionalNode(q) === undefined ? {} : { node: optionalNode(q)! }), severity: q.get('severity') ?? '', text: q.get('text') ?? '' };
      return send(response, 200, ctx.archive.events(range(q, 86_400_000), filter, 500));
    }
    if (path === '/api/samples') {
      const channel = q.get('channel');
      if (!channel) throw new HttpError(400, 'channel is required');
      return send(response, 200, ctx.archive.samples(channel, range(q, 600_000), optionalNode(q), 200_000));
    }
    if (path === '/api/channels') return send(response, 200, ctx.archive.channels());
    if (path === '/api/history') {
      const r = range(q, 86_400_000);
      return send(response, 200, { commands: ctx.archive.commands(r, 200), responses: ctx.archive.responses(r, 200) });
    }
    if (path === '/api/export') return exportDownload(ctx, response, q);
    if (path === '/api/contacts') return send(response, 200, ctx.contacts ? ctx.contacts.state(Date.now(), ctx.live.overview(), ctx.archive) : { plan: null });
    if (path === '/api/contacts.svg') return contactsSvg(ctx, response, q);
    const held = /^\/api\/held\/([0-9a-f]{16})\/envelope$/.exec(path);
    if (held) {
      response.writeHead(200, { 'content-type': 'application/cbor', 'content-disposition': `attachment; filename="command-${held[1]}.cbor"`, ...SECURITY_HEADERS });
      return void response.end(ctx.desk.envelope(held[1]!));
    }
    throw new HttpError(404, `no such resource ${path}`);
  }
  if (request.method !== 'POST') throw new HttpError(405, `${request.method} is not used here`);
  const session = ctx.sessions.changing(request);
  const who = session.user;
  if (path === '/api/logout') {
    ctx.sessions.logout(session);
    return send(response, 200, { ok: true });
  }
  if (path === '/api/command') {
    const form = await jsonBody(request);
    const args = (typeof form.args === 'object' && form.args !== null ? form.args : {}) as Record<string, string>;
    const command: CommandForm = {
      node: Number(form.node), command: String(form.command ?? ''), args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, String(v)])),
      hold: form.hold === true, ...(form.expiresS === undefined ? {} : { expiresS: Number(form.expiresS) }),
    };
    return send(response, 200, await ctx.desk.submit(who, command));
  }
  if (path === '/api/held') return send(response, 200, ctx.desk.upload(who, new Uint8Array(await body(request))));
  const action = /^\/api\/held\/([0-9a-f]{16})\/(cosign|send)$/.exec(path);
  if (action) {
    const digest = action[1]!;
    if (action[2] === 'cosign') return send(response, 200, ctx.desk.cosign(who, digest));
    return send(response, 200, { digest, where: await ctx.desk.sendHeld(who, digest) });
  }
  throw new HttpError(404, `no such action ${path}`);
}

/** The contact timeline around now; `span` plan seconds wide (default 6 h), `width` pixels. */
function contactsSvg(ctx: ConsoleContext, response: ServerResponse, q: URLSearchParams): void {
  if (!ctx.contacts) throw new HttpError(404, 'this console was started without a contact plan (--plan FILE)');
  const spanS = Number(q.get('span') ?? 21_600);
  const width = Number(q.get('width') ?? 1200);
  if (!(spanS > 0 && spanS <= 31_536_000)) throw new HttpError(400, `span must be plan seconds in (0, 31536000], got ${JSON.stringify(q.get('span'))}`);
  if (!(Number.isInteger(width) && width >= 400 && width <= 4000)) throw new HttpError(400, `width must be 400 to 4000 pixels, got ${JSON.stringify(q.get('width'))}`);
  response.writeHead(200, { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  response.end(ctx.contacts.svg(Date.now(), spanS, width));
}

function exportDownload(ctx: ConsoleContext, response: ServerResponse, q: URLSearchParams): void {
  const kind = (q.get('kind') ?? 'samples') as ExportKind;
  const format = (q.get('format') ?? 'csv') as ExportFormat;
  if (!['samples', 'events', 'commands', 'responses'].includes(kind)) throw new HttpError(400, `kind must be samples, events, commands or responses, got ${JSON.stringify(kind)}`);
  if (format !== 'csv' && format !== 'ndjson') throw new HttpError(400, `format must be csv or ndjson, got ${JSON.stringify(format)}`);
  const node = optionalNode(q);
  // Rendered before the headers go out: a bad query is a 400, not a truncated file.
  const text = [...exportLines(ctx.archive, { kind, format, range: range(q, 86_400_000), channels: q.getAll('channel'), ...(node === undefined ? {} : { node }) })].join('');
  response.writeHead(200, {
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
    'content-disposition': `attachment; filename="tern-${kind}.${format === 'csv' ? 'csv' : 'ndjson'}"`, ...SECURITY_HEADERS,
  });
  response.end(text);
}

async function login(ctx: ConsoleContext, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  let session: Session;
  const token = url.searchParams.get('token');
  if (request.method === 'GET' && token !== null) {
    session = ctx.sessions.loginWithToken(token);
  } else if (request.method === 'POST') {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== ctx.sessions.options.origin) throw new AuthError('CONSOLE_CSRF', `login from origin ${origin}`);
    const form = new URLSearchParams((await body(request)).toString('utf8'));
    session = ctx.sessions.loginWithPassword(form.get('name') ?? '', form.get('password') ?? '');
  } else {
    return serveStatic(response, STATIC['/login']!);
  }
  ctx.log.info({ user: session.user }, 'console login');
  response.writeHead(303, { location: '/', 'set-cookie': ctx.sessions.cookie(session), ...SECURITY_HEADERS });
  response.end();
}

function serveStatic(response: ServerResponse, entry: { file: string; type: string }): void {
  response.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  response.end(readFileSync(join(ROOT, entry.file)));
}

/** The request handler of the console's HTTP(S) server. */
export function consoleHandler(ctx: ConsoleContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', ctx.sessions.options.origin);
    const done = (async () => {
      if (url.pathname === '/login') return login(ctx, request, response, url);
      if (url.pathname.startsWith('/api/')) return api(ctx, request, response, url);
      const entry = STATIC[url.pathname];
      if (!entry || request.method !== 'GET') throw new HttpError(404, `no such page ${url.pathname}`);
      if (url.pathname === '/') ctx.sessions.session(request); // the page itself needs a session
      return serveStatic(response, entry);
    })();
    done.catch((error: unknown) => {
      if (response.headersSent) return void response.destroy();
      if (error instanceof AuthError) {
        if (error.code === 'CONSOLE_NO_SESSION' && !url.pathname.startsWith('/api/')) {
          response.writeHead(303, { location: '/login', ...SECURITY_HEADERS });
          return void response.end();
        }
        return send(response, error.code === 'CONSOLE_CSRF' ? 403 : 401, { error: error.message, code: error.code });
      }
      if (error instanceof HttpError) return send(response, error.status, { error: error.message, code: error.code });
      if (error instanceof TernError) return send(response, 400, { error: error.message, code: error.code });
      ctx.log.error({ err: error, path: url.pathname }, 'console request failed');
      send(response, 500, { error: 'internal error (see the console log)' });
    });
  };
}
