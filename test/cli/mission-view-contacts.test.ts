// The mission view's contacts, from the lines the flight code itself logs: a node's health line
// (the real housekeeping summary over real channels) and its ROUTE_CONTACT_STARTED/ENDED events
// (the real event log) go through the view as `tern mission` feeds them, and the view shows per
// node the neighbours in a plan contact, the bundles queued for a contact and those pending,
// a line per contact that starts or ends, and fits 9 processes into 80x24.
import { describe, expect, it } from 'vitest';
import { AGENT_CHANNELS } from '../../flight/dtn/agent-dictionary.js';
import { createRootLogger } from '../../flight/log.js';
import { ROUTE_CHANNELS, ROUTE_EVENTS } from '../../flight/route/dictionary.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { HousekeepingTask } from '../../flight/tlm/housekeeping.js';
import { MissionView } from '../../gse/mission-view.js';

const NODES = [
  { id: 10, name: 'ground-10' }, { id: 11, name: 'ground-11' },
  ...[20, 21, 22, 23, 24, 25].map((id) => ({ id, name: `sat-${id}` })),
];

/** One flight node's real telemetry, event log and health summary; every line it logs goes to `sink`. */
function flightNode(id: number, sink: (line: string) => void) {
  const log = createRootLogger({ base: { node: id }, destination: { write: (s: string) => sink(s.trim()) } });
  const tlm = new TelemetryRegistry();
  const events = new EventLog(log, () => 0);
  const hk = new HousekeepingTask(tlm, events, { node: id, summaryEvery: 1, log });
  const open = tlm.define(ROUTE_CHANNELS.contactsOpen);
  const queued = tlm.define(AGENT_CHANNELS.awaitingContact);
  const pending = tlm.define(AGENT_CHANNELS.pending);
  return {
    events,
    health(contacts: number, awaiting: number, waiting: number): void {
      open.set(contacts);
      queued.set(awaiting);
      pending.set(waiting);
      hk.run({ frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 });
    },
  };
}

function view(tty: boolean, width?: number, rows?: number) {
  let out = '';
  const v = new MissionView({ nodes: NODES, logDir: '/tmp/m/logs', tty, write: (t) => (out += t), columns: () => width, rows: () => rows, now: () => 0 });
  const row = (name: string, lines = v.table(width)): string => lines.find((l) => l.includes(` ${name} `)) ?? '';
  return { v, row, output: () => out };
}

describe('tern mission view: contacts and where bundles wait', () => {
  it('shows the neighbours in contact, bundles queued and pending, and a line per contact start and end', () => {
    const { v, row, output } = view(false);
    const sat = flightNode(20, (l) => v.stdout('sat-20', l));
    sat.health(0, 3, 5);
    expect(row('sat-20')).toMatch(/^20 +sat-20 +NOMINAL +ok +- +- +3 +5 /);

    sat.events.emit(ROUTE_EVENTS.contactStarted, { neighbour: 21, waiting: 2 });
    sat.events.emit(ROUTE_EVENTS.contactStarted, { neighbour: 10, waiting: 1 });
    sat.health(2, 0, 2);
    expect(row('sat-20')).toMatch(/^20 +sat-20 +NOMINAL +ok +- +10,21 +0 +2 /);
    expect(output()).toMatch(/sat-20: contact with node 21 started \(2 bundles queued for it\)\n/);

    sat.events.emit(ROUTE_EVENTS.contactEnded, { neighbour: 21 });
    sat.health(1, 0, 2);
    expect(row('sat-20')).toMatch(/^20 +sat-20 +NOMINAL +ok +- +10 +0 +2 /);
    expect(output()).toMatch(/sat-20: contact with node 21 ended\n/);
    expect(output()).not.toMatch(/\x1b/);
  });

  it('falls back to the gauge when a throttled event went missing, and clears contacts when the node exits', () => {
    const { v, row } = view(false);
    const sat = flightNode(22, (l) => v.stdout('sat-22', l));
    sat.events.emit(ROUTE_EVENTS.contactStarted, { neighbour: 21, waiting: 0 });
    sat.health(3, 0, 0); // two starts the throttle held back
    expect(row('sat-22')).toMatch(/ 3 open /);
    sat.health(0, 0, 0); // and an end it held back
    expect(row('sat-22')).toMatch(/^22 +sat-22 +NOMINAL +ok +- +- +0 +0 /);

    sat.events.emit(ROUTE_EVENTS.contactStarted, { neighbour: 23, waiting: 0 });
    v.exited(22, 'sat-22', 0);
    expect(row('sat-22')).toMatch(/^22 +sat-22 +- +stopped +- +- /);
  });

  it('fits the constellation (8 nodes and the console) into an 80x24 terminal', () => {
    const { v, row, output } = view(true, 80, 24);
    for (const { id, name } of NODES) {
      const node = flightNode(id, (l) => v.stdout(name, l));
      for (const n of NODES) if (n.id !== id) v.stdout(name, JSON.stringify({ node: id, event: 'CLA_TCP_SESSION_UP', nodeId: `ipn:${n.id}.0`, msg: 'up' }));
      // Five starts: the event's throttle lets as many through before a quiet period.
      for (const neighbour of [10, 11, 21, 23, 24, 25].filter((n) => n !== id).slice(0, 5)) node.events.emit(ROUTE_EVENTS.contactStarted, { neighbour, waiting: 12 });
      node.health(id === 20 ? 6 : 5, 1234, 56789); // sat-20: the gauge disagrees
    }
    for (let i = 0; i < 10; i++) v.stdout('console', JSON.stringify({ kind: 'rsp', timeMs: 0, node: 20, command: 'PING', status: 'executed', seq: i, result: { token: i } }));
    v.start();
    v.stop(); // the last picture, drawn at once
    const screen = (output().split('\x1b[H').at(-1) ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    const lines = screen.split('\n').slice(0, -1); // the text ends in a newline: the cursor's line
    expect(lines.length).toBeLessThanOrEqual(23);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(screen).not.toContain('~'); // columns left out whole, none cut
    // Every node's row, with its contacts (a long list cut with "+N"), queued and pending.
    expect(row('sat-21', lines)).toMatch(/^21 +sat-21 +NOMINAL +ok +10,11,20\+\d +10,11,23\+\d +1234 +56789$/); // stored and the rest left out: 80 columns
    expect(row('sat-20', lines)).toMatch(/ 6 open +1234 +56789$/);
    for (const { name } of NODES) expect(row(name, lines)).not.toBe('');
    // The latest events and responses, as many as fit.
    expect(lines.filter((l) => /contact with node \d+ started/.test(l)).length).toBeGreaterThanOrEqual(1);
    expect(screen).toMatch(/"token":9/);
    expect(screen).not.toMatch(/"token":0\b/);
  });
});
