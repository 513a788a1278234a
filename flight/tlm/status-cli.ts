// `tern status --data DIR`: the latest housekeeping record of a node, running or stopped. A
// running node replaces DATA/housekeeping.json with each health line's record (flight/app.ts),
// and a stopping node writes its final one, so this reads a file and never talks to the node.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, UsageError, type CommandSpec, type OptionSpecs } from '../cli-args.js';
import type { HousekeepingRecord } from './housekeeping.js';

const STATUS = {
  name: 'tern status',
  summary: 'Prints the latest housekeeping of a node (running or stopped): mode, frames, DTN and link counters, and how old the record is.',
  usage: ['--data DIR [--json] [--all]'],
  options: {
    data: { type: 'string', arg: 'DIR', doc: "the node's data directory (required)" },
    json: { type: 'boolean', doc: 'print the record as it is, one JSON line' },
    all: { type: 'boolean', doc: 'list every channel, not only those that matter most' },
  },
  notes: 'A running node replaces DIR/housekeeping.json with each health line (tlm.summaryEveryMajorFrames).\nExit codes: 0 printed; 1 no record, or a damaged one (the node never ran there, or is starting); 2 bad input.',
  examples: ['tern status --data var/mission/sat-20', 'tern status --data var/mission/sat-20 --json | jq .channels'],
} as const satisfies CommandSpec<OptionSpecs>;

/** The channels shown without --all, in this order, under the names people look for. */
const SHOWN: ReadonlyArray<readonly [string, string]> = [
  ['frames', 'exec.frames'],
  ['slips', 'exec.slips'],
  ['task overruns', 'exec.taskOverruns'],
  ['stored bundles', 'dtn.store.bundles'],
  ['stored bytes', 'dtn.store.bytes'],
  ['bundles in', 'dtn.agent.accepted'],
  ['bundles out', 'dtn.agent.forwarded'],
  ['delivered here', 'dtn.agent.delivered'],
  ['in flight', 'dtn.agent.inFlight'],
  ['pending', 'dtn.agent.pending'],
  ['refused, store full', 'dtn.agent.refusedFull'],
  ['refused, no route', 'dtn.agent.refusedNoRoute'],
  ['rejected', 'dtn.bundlesRejected'],
  ['TCPCL sessions up', 'cla.tcp.sessionsActive'],
  ['TCPCL refusals sent', 'cla.tcp.refusalsSent'],
  ['commands executed', 'cmd.executed'],
  ['commands rejected', 'cmd.rejected'],
];

export function runStatus(argv: string[]): Promise<number> {
  return runCommand(STATUS, argv, async (values) => {
    if (values.data === undefined) throw new UsageError('--data DIR is required');
    const file = join(values.data, 'housekeeping.json');
    let text: string;
    let ageS: number;
    try {
      text = readFileSync(file, 'utf8');
      ageS = (Date.now() - statSync(file).mtimeMs) / 1000;
    } catch (error) {
      console.error(`${STATUS.name}: no housekeeping record at ${file}: ${(error as Error).message}`);
      return 1;
    }
    const record = parseRecord(text);
    if (typeof record === 'string') {
      console.error(`${STATUS.name}: ${file}: ${record}`);
      return 1;
    }
    if (values.json) {
      console.log(JSON.stringify(record));
      return 0;
    }
    console.log(`node ${record.node}  mode ${record.mode}  record ${record.seq} at frame ${record.frame}, written ${ageS.toFixed(1)} s ago`);
    const rows = values.all
      ? Object.keys(record.channels).sort().map((name) => [name, name] as const)
      : SHOWN.filter(([, name]) => record.channels[name] !== undefined);
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, name] of rows) console.log(`  ${label.padEnd(width)}  ${record.channels[name]}`);
    return 0;
  });
}

/** The record, checked as far as this printer relies on it (a file is untrusted input), or what is wrong with it. */
function parseRecord(text: string): HousekeepingRecord | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  const r = raw as Partial<HousekeepingRecord>;
  const numbers = typeof r.channels === 'object' && r.channels !== null && Object.values(r.channels).every((v) => typeof v === 'number');
  if (typeof r.node !== 'number' || typeof r.seq !== 'number' || typeof r.frame !== 'number' || typeof r.mode !== 'string' || !numbers) {
    return 'not a housekeeping record (node, seq, frame, mode, channels)';
  }
  return r as HousekeepingRecord;
}
