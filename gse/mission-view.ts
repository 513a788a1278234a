// What `tern mission` shows a person instead of every process's NDJSON: one row per node (mode,
// health, links up, bundles stored and in flight, in, out, refused, commands executed), the last
// events of note, and the ground console's responses as readable lines. It is fed the lines the
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
  now?: () => number;
}

/** Events that matter to a person watching, whatever their level. */
const OF_NOTE = new Set(['EXEC_MODE_CHANGED', 'DTN_BUNDLE_REFUSED']);
/** pino's level labels at and above warn. */
const WARNINGS = new Set(['warn', 'error', 'fatal']);
const KEPT_EVENTS = 6;
const KEPT_RESPONSES = 8;
const REDRAW_MS = 250;
const PLAIN_TABLE_MS = 30_000;

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
    }
    if (code !== 0) this.note(`${source} exited with ${code}`);
    this.dirty = true;
  }

  private node(id: number, name?: string): NodeState {
    let n = this.nodes.get(id);
    if (!n) {
      n = { name: name ?? `node ${id}`, mode: '-', state: 'starting', slips: 0, slipsBefore: 0, links: new Set() };
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
      return;
    }
    const event = typeof l.event === 'string' ? l.event : undefined;
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

  /** The node table: a header and one row per node, in node order. */
  table(): string[] {
    const head = ['node', 'name', 'mode', 'health', 'links', 'stored', 'flight', 'in', 'out', 'refused', 'cmds'];
    const dash = (v: number | undefined): string => (v === undefined ? '-' : String(v));
    const rows = [...this.nodes].sort(([a], [b]) => a - b).map(([id, n]) => [
      String(id), n.name, n.mode, this.health(n), [...n.links].sort().join(',') || '-',
      dash(n.stored), dash(n.inFlight), dash(n.in), dash(n.out), dash(n.refused), dash(n.commands),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    return [head, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  }

  private picture(): string[] {
    const up = Math.round((this.now() - this.started) / 1000);
    return [
      `tern mission  up ${Math.floor(up / 60)}m${String(up % 60).padStart(2, '0')}s  full logs: ${this.options.logDir}/  Ctrl-C stops`,
      '',
      ...this.table(),
      '',
      'events of note:',
      ...(this.events.length ? this.events.map((e) => `  ${e}`) : ['  (none yet)']),
      '',
      'console (responses):',
      ...(this.responses.length ? this.responses.map((r) => `  ${r}`) : ['  (none yet: tern gse send NODE PING 1 --key KEY --via STATION)']),
    ];
  }

  private redraw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const width = this.options.columns();
    const cut = (l: string): string => (width && l.length > width ? `${l.slice(0, width - 1)}~` : l);
    // Home, each line cleared to its end, then everything below: no flicker of a full clear.
    this.options.write(`\x1b[H${this.picture().map((l) => `${cut(l)}\x1b[K`).join('\n')}\n\x1b[J`);
  }

  private plain(line: string): void {
    this.options.write(`${line}\n`);
  }
}
