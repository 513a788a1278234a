// What `tern mission` shows a person instead of every process's NDJSON: one row per node (mode,
// health, links up, plan contacts open and where bundles wait, bundles stored and in flight, in,
// out, refused, commands executed), the last events of note (contacts starting and ending among them), and the ground console's responses as readable lines. It is fed the lines the
// processes print (their full stream goes to log files, mission.ts) and knows nothing of how many
// nodes there are beyond the rows it is given and the node ids the lines carry.
// In a terminal it redraws in place a few times a second; elsewhere (CI, a pipe) it prints plain
// lines, no escape codes: each change of note as it comes, and the table now and then.
import { responseLine, type ResponseRecord } from './tlm.js';

export interface ViewNode {
  readonly id: number;
  readonly name: string;
}

interface NodeState {
  name: string;
  mode: string;
  state: 'starting' | 'running' | 'stopping' | 'stopped' | 'exited';
  exitCode?: number | string;
  slips: number;
  /** Slips at the health line before the last: growth means frames are late now. */
  slipsBefore: number;
  links: Set<string>;
  /** Neighbours in a plan contact, from ROUTE_CONTACT_STARTED/ENDED. */
  contacts: Set<number>;
  /** route.contactsOpen at the last health line: the events can be throttled, the gauge cannot. */
  contactsOpen?: number;
  /** Bundles in plan contacts' queues (dtn.agent.awaitingContact). */
  queued?: number;
  /** Stored bundles waiting for a contact, a route (limbo), a retry or a service (dtn.agent.pending). */
  pending?: number;
  stored?: number;
  inFlight?: number;
  in?: number;
  out?: number;
  refused?: number;
  commands?: number;
}

export interface ViewOptions {
  readonly nodes: readonly ViewNode[];
  /** Where the full logs go, named in the view. */
  readonly logDir: string;
  readonly tty: boolean;
  write(text: string): void;
  /** Terminal width; undefined: lines are not cut. */
  columns(): number | undefined;
  /** Terminal height; undefined: every kept event and response is shown. */
  rows?(): number | undefined;
  now?: () => number;
}

/** Events that matter to a person watching, whatever their level. */
const OF_NOTE = new Set(['EXEC_MODE_CHANGED', 'DTN_BUNDLE_REFUSED', 'ROUTE_CONTACT_STARTED', 'ROUTE_CONTACT_ENDED']);
/** pino's level labels at and above warn. */
const WARNINGS = new Set(['warn', 'error', 'fatal']);
const KEPT_EVENTS = 6;
const KEPT_RESPONSES = 8;
const REDRAW_MS = 250;
const PLAIN_TABLE_MS = 30_000;
/** A list of peers longer than this ends in "+N" (how many more): a row stays one line. */
const PEERS_WIDTH = 11;
/** Columns left out, in this order, while the table is wider than the terminal. */
const DROPPED_FIRST = ['cmds', 'refused', 'in', 'out', 'flight', 'stored'];

/** Node ids, ascending, as one short cell: "10,21,23" or "10,21,23+2". */
function peers(ids: Iterable<number | string>): string {
  const sorted = [...ids].map(Number).sort((a, b) => a - b).map(String);
  if (sorted.length === 0) return '-';
  let shown = sorted.length;
  const cell = (k: number): string => sorted.slice(0, k).join(',') + (k < sorted.length ? `+${sorted.length - k}` : '');
  while (shown > 1 && cell(shown).length > PEERS_WIDTH) shown--;
  return cell(shown);
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export class MissionView {
  private readonly nodes = new Map<number, NodeState>();
  private readonly events: string[] = [];
  private readonly responses: string[] = [];
  private readonly now: () => number;
  private readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  private dirty = true;

  constructor(private readonly options: ViewOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    for (const n of options.nodes) this.node(n.id, n.name);
  }

  start(): void {
    if (this.options.tty) {
      this.options.write('\x1b[?25l'); // hide the cursor while redrawing
      this.timer = setInterval(() => this.redraw(), REDRAW_MS);
    } else {
      this.plain(`tern mission: full logs in ${this.options.logDir}/`);
      this.timer = setInterval(() => this.table().forEach((l) => this.plain(l)), PLAIN_TABLE_MS);
    }
    this.timer.unref();
  }

  /** The last picture (terminal) or table (plain); the cursor comes back. */
  stop(): void {
    clearInterval(this.timer);
    if (this.options.tty) {
      this.dirty = true;
      this.redraw();
      this.options.write('\x1b[?25h');
    } else {
      this.table().forEach((l) => this.plain(l));
    }
  }

  /** One line a process printed on stdout (NDJSON from nodes and the console). */
  stdout(source: string, text: string): void {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.note(`${source}: ${text}`);
      return;
    }
    if (typeof line.kind === 'string') this.consoleRecord(line);
    else if (typeof line.node === 'number') this.nodeLine(line.node, line);
  }

  /** A line on stderr: shown as an event, it is what a process says when something is wrong. */
  stderr(source: string, text: string): void {
    this.note(`${source}: ${text}`);
  }

  exited(nodeId: number | undefined, source: string, code: number | string): void {
    const n = nodeId === undefined ? undefined : this.nodes.get(nodeId);
    if (n) {
      n.state = code === 0 ? 'stopped' : 'exited';
      n.mode = '-';
      n.exitCode = code;
      n.links.clear();
      n.contacts.clear();
      n.contactsOpen = undefined;
    }
    if (code !== 0) this.note(`${source} exited with ${code}`);
    this.dirty = true;
  }

  private node(id: number, name?: string): NodeState {
    let n = this.nodes.get(id);
    if (!n) {
      n = { name: name ?? `node ${id}`, mode: '-', state: 'starting', slips: 0, slipsBefore: 0, links: new Set(), contacts: new Set() };
      this.nodes.set(id, n);
    }
    return n;
  }

  private nodeLine(id: number, l: Record<string, unknown>): void {
    const n = this.node(id);
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    this.dirty = true;
    if (l.msg === 'node started') {
      n.state = 'running';
      if (typeof l.name === 'string') n.name = l.name;
      if (typeof l.mode === 'string') n.mode = l.mode;
      this.note(`${n.name} started`);
      return;
    }
    if (l.msg === 'stopping') {
      n.state = 'stopping';
      return;
    }
    if (l.msg === 'health') {
      if (n.state === 'starting') n.state = 'running';
      if (typeof l.mode === 'string') n.mode = l.mode;
      n.slipsBefore = n.slips;
      n.slips = num(l.slips) ?? n.slips;
      n.stored = num(l.stored);
      n.inFlight = num(l.inFlight);
      n.in = num(l.in);
      n.out = num(l.out);
      n.refused = num(l.refused);
      n.commands = num(l.commands);
      n.contactsOpen = num(l.contactsOpen);
      n.queued = num(l.awaitingContact);
      n.pending = num(l.pending);
      if (n.contactsOpen === 0) n.contacts.clear(); // an end the throttle held back
      return;
    }
    const event = typeof l.event === 'string' ? l.event : undefined;
    const neighbour = num(l.neighbour);
    if (neighbour !== undefined && event === 'ROUTE_CONTACT_STARTED') n.contacts.add(neighbour);
    if (neighbour !== undefined && event === 'ROUTE_CONTACT_ENDED') n.contacts.delete(neighbour);
    // Links are sessions with other nodes; a ground tool's short session (dtn://...) is not one.
    const peer = typeof l.nodeId === 'string' ? /^ipn:(\d+)\.\d+$/.exec(l.nodeId)?.[1] : undefined;
    if (peer !== undefined && (event === 'CLA_TCP_SESSION_UP' || event === 'CLA_TCP_SESSION_DOWN')) {
      const up = event === 'CLA_TCP_SESSION_UP';
      if (up) n.links.add(peer);
      else n.links.delete(peer);
      if (n.state === 'running') this.note(`${n.name}: link with node ${peer} ${up ? 'up' : 'down'}`);
      return;
    }
    if (event === 'EXEC_MODE_CHANGED' && typeof l.to === 'string') n.mode = l.to;
    // A throttled repeat is already counted in the first line of its kind.
    const warning = typeof l.level === 'string' && WARNINGS.has(l.level) && l.throttled !== true;
    if (warning || (event !== undefined && OF_NOTE.has(event))) this.note(`${n.name}: ${String(l.msg)}`);
  }

  private consoleRecord(l: Record<string, unknown>): void {
    if (l.kind === 'rsp') {
      // Drop the ISO date: the view's own clock column says when.
      this.responses.push(`${clock(this.now())}  ${responseLine(l as unknown as ResponseRecord).replace(/^\S+ /, '')}`);
      if (this.responses.length > KEPT_RESPONSES) this.responses.shift();
      if (!this.options.tty) this.plain(this.responses.at(-1)!);
      this.dirty = true;
    } else if (l.kind === 'hk' && typeof l.node === 'number') {
      // What the console hears from a node it does not run (a real satellite) still gets a row.
      const n = this.node(l.node);
      const c = (l.channels ?? {}) as Record<string, number>;
      if (typeof l.mode === 'string') n.mode = l.mode;
      if (n.state === 'starting') n.state = 'running';
      n.stored = c['dtn.store.bundles'] ?? n.stored;
      n.inFlight = c['dtn.agent.inFlight'] ?? n.inFlight;
      n.commands = c['cmd.executed'] ?? n.commands;
      n.contactsOpen = c['route.contactsOpen'] ?? n.contactsOpen;
      n.queued = c['dtn.agent.awaitingContact'] ?? n.queued;
      n.pending = c['dtn.agent.pending'] ?? n.pending;
      this.dirty = true;
    }
  }

  private note(text: string): void {
    const line = `${clock(this.now())}  ${text}`;
    this.events.push(line);
    if (this.events.length > KEPT_EVENTS) this.events.shift();
    if (!this.options.tty) this.plain(line);
    this.dirty = true;
  }

  private health(n: NodeState): string {
    if (n.state === 'exited') return `exited ${n.exitCode}`;
    if (n.state !== 'running') return n.state;
    return n.slips > n.slipsBefore ? `late (${n.slips} slips)` : 'ok';
  }

  /**
   * Plan contacts open: the neighbours the events named, or only how many the gauge counts when
   * the two disagree (a throttled event was missed); '-' for none or no contact plan.
   */
  private contactsCell(n: NodeState): string {
    if (n.contactsOpen !== undefined && n.contactsOpen !== n.contacts.size) return `${n.contactsOpen} open`;
    return peers(n.contacts);
  }

  /**
   * The node table: a header and one row per node, in node order. `width`: the columns of least
   * use (DROPPED_FIRST) are left out until it fits.
   */
  table(width?: number): string[] {
    const head = ['node', 'name', 'mode', 'health', 'links', 'contacts', 'queued', 'pending', 'stored', 'flight', 'in', 'out', 'refused', 'cmds'];
    const dash = (v: number | undefined): string => (v === undefined ? '-' : String(v));
    const rows = [...this.nodes].sort(([a], [b]) => a - b).map(([id, n]) => [
      String(id), n.name, n.mode, this.health(n), peers(n.links), this.contactsCell(n), dash(n.queued), dash(n.pending),
      dash(n.stored), dash(n.inFlight), dash(n.in), dash(n.out), dash(n.refused), dash(n.commands),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const shown = head.map(() => true);
    const total = (): number => widths.reduce((sum, w, i) => sum + (shown[i] ? w + 2 : 0), -2);
    for (const name of DROPPED_FIRST) {
      if (width === undefined || total() <= width) break;
      shown[head.indexOf(name)] = false;
    }
    return [head, ...rows].map((r) => r.flatMap((cell, i) => (shown[i] ? [cell.padEnd(widths[i]!)] : [])).join('  ').trimEnd());
  }

  /** The whole screen; `rows`: only the latest events and responses that fit (half each at most, events first). */
  picture(width?: number, rows?: number): string[] {
    const up = Math.round((this.now() - this.started) / 1000);
    const table = this.table(width);
    let events = this.events;
    let responses = this.responses;
    if (rows !== undefined) {
      // Six lines of headings and spaces, and the last line left empty: the screen never scrolls.
      const room = Math.max(2, rows - table.length - 7);
      responses = responses.slice(-Math.max(1, Math.floor(room / 2)));
      events = events.slice(-Math.max(1, room - Math.max(1, responses.length)));
    }
    return [
      `tern mission  up ${Math.floor(up / 60)}m${String(up % 60).padStart(2, '0')}s  full logs: ${this.options.logDir}/  Ctrl-C stops`,
      '',
      ...table,
      '',
      'events of note:',
      ...(events.length ? events.map((e) => `  ${e}`) : ['  (none yet)']),
      '',
      'console (responses):',
      ...(responses.length ? responses.map((r) => `  ${r}`) : ['  (none yet: tern gse send NODE PING 1 --key KEY --via STATION)']),
    ];
  }

  private redraw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const width = this.options.columns();
    const cut = (l: string): string => (width && l.length > width ? `${l.slice(0, width - 1)}~` : l);
    // Home, each line cleared to its end, then everything below: no flicker of a full clear.
    this.options.write(`\x1b[H${this.picture(width, this.options.rows?.()).map((l) => `${cut(l)}\x1b[K`).join('\n')}\n\x1b[J`);
  }

  private plain(line: string): void {
    this.options.write(`${line}\n`);
  }
}
