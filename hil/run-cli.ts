// `tern hil run`: options, the progress line, the summary and the exit code (0 all passed, 1 a
// scenario failed, 2 bad options or a bad scenario file, which are all checked before the line
// is opened or a node started).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HilInputError, HilInterrupted } from './errors.js';
import { summary, writeJunit } from './report.js';
import { runScenarios } from './runner.js';
import { loadScenario } from './scenario.js';

export const RUN_USAGE = `usage: tern hil run SCENARIO.json... (--port DEVICE --node N --bench B --dict FILE [--power-cycle CMD] | --spawn CONFIG)
                   [--baud B] [--junit FILE] [--out DIR] [--seed S] [--lockstep]

run     runs scenario files (JSON, hil/README.md) against a node at the other end of a serial
        line: the bench is ground node B on the serial convergence layer, signs commands with its
        throwaway test operator keys (alice, bob; mallory is known to no node) and reads the
        node's responses, events and housekeeping sent to ipn:B.2. --port is the node's UART
        (a real bench: --node its number, --dict its dictionary.json, --power-cycle a command that
        cycles its power); --spawn starts a flight node from CONFIG on a pseudo-terminal pair
        (socat), power cycled by SIGKILL and a restart. Writes OUT/timeline.ndjson (default
        OUT hil-out), JUnit XML to FILE. Exit 0 all passed, 1 a scenario failed, 2 bad input.
        --lockstep: the node runs its frames only when the bench steps them (stepClock steps,
        and waits for the node's output), on a virtual clock: the same scenario gives the same
        telemetry on every run (--spawn passes --lockstep to the node; on a bench, start the OBC
        with tern flight --lockstep).

example:
  tern hil run hil/scenarios/*.json --spawn hil/bench-node.json --junit hil-out/report.xml`;

const OPTIONS = {
  port: { type: 'string' },
  spawn: { type: 'string' },
  node: { type: 'string' },
  bench: { type: 'string' },
  dict: { type: 'string' },
  'power-cycle': { type: 'string' },
  baud: { type: 'string', default: '115200' },
  junit: { type: 'string' },
  out: { type: 'string', default: 'hil-out' },
  seed: { type: 'string', default: '1' },
  lockstep: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(text: string | undefined, option: string, expected: string, min: number, max: number): number {
  const value = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new HilInputError(option, expected, text);
  return value;
}

const parseRunArgs = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true }); // eslint-disable-line @typescript-eslint/explicit-function-return-type

export async function runBench(argv: string[]): Promise<number> {
  const { values, positionals } = parseRunArgs(argv);
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  // Listening from here to the last close: a SIGINT (or a second one, from an impatient operator)
  // at any point of the run only aborts it, so the node, socat and proxy are always stopped.
  const interrupt = new AbortController();
  const stop = (): void => interrupt.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await run(values, positionals, interrupt.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function run(values: ReturnType<typeof parseRunArgs>['values'], positionals: string[], signal: AbortSignal): Promise<number> {
  if (positionals.length === 0) throw new HilInputError('(scenarios)', 'one or more scenario files', 'none');
  if ((values.port === undefined) === (values.spawn === undefined)) throw new HilInputError('port', 'one of --port DEVICE and --spawn CONFIG', values.port ?? values.spawn);
  const scenarios = positionals.map((file) => loadScenario(file));
  const hardware = values.port === undefined ? {} : {
    port: values.port,
    node: integer(values.node, 'node', "the node's ipn node number", 1, 2 ** 32 - 1),
    bench: integer(values.bench, 'bench', "the bench's ipn node number (the node's serial neighbour)", 1, 2 ** 32 - 1),
    dictionary: values.dict ?? (() => { throw new HilInputError('dict', "the node's dictionary.json (in its data directory)", undefined); })(),
    ...(values['power-cycle'] === undefined ? {} : { powerCycle: values['power-cycle'] }),
  };
  const terminal = process.stderr.isTTY;
  // An interrupted run still stops its node, socat and proxy, and reports what it ran.
  let results;
  try {
    results = await runScenarios({
    signal,
    scenarios,
    out: resolve(values.out),
    baud: integer(values.baud, 'baud', 'a baud rate from 300 to 12000000', 300, 12_000_000),
    seed: integer(values.seed, 'seed', 'an integer seed', 0, 2 ** 32 - 1),
    ...(values.spawn === undefined ? {} : { spawn: values.spawn }),
    lockstep: values.lockstep === true,
    ...hardware,
    // One line rewritten in place on a terminal; plain lines otherwise (CI logs).
    progress: (line) => process.stderr.write(terminal ? `\r\x1b[K${line}` : `${line}\n`),
    });
  } catch (error) {
    if (!(error instanceof HilInterrupted)) throw error;
    console.log(`${error.message}; nothing ran`);
    return 1;
  }
  if (terminal) process.stderr.write('\r\x1b[K');
  if (values.junit !== undefined) writeJunit(values.junit, results);
  console.log(summary(results));
  return results.every((r) => !r.failure) && !signal.aborted ? 0 : 1;
}
