// `tern flight --config FILE`: runs one node until SIGINT or SIGTERM. This is the entry point
// deployed to an OBC (node dist/flight/main.js --config /etc/tern/mission.json).
import { fileURLToPath } from 'node:url';
import { FlightNode } from './app.js';
import { runCommand, UsageError, type CommandSpec, type OptionSpecs } from './cli-args.js';
import { loadMission } from './config/mission.js';
import { TernError } from './errors.js';

const FLIGHT = {
  name: 'tern flight',
  summary: 'Runs one Tern node on a mission config until SIGINT or SIGTERM (then stops cleanly, exit 0).',
  usage: ['--config FILE [--lockstep]'],
  options: {
    config: { type: 'string', arg: 'FILE', doc: 'the node\'s mission config (tern config reference describes every field)' },
    lockstep: { type: 'boolean', doc: 'run frames only when a HIL bench steps them over the serial link, on a virtual clock (hil/README.md)' },
  },
  notes: 'Exit codes: 0 stopped cleanly; 2 the config is invalid or a path cannot be used (one line names it).',
  examples: ['tern flight --config flight/config/examples/minimal.json', 'node dist/flight/main.js --config /etc/tern/mission.json'],
} as const satisfies CommandSpec<OptionSpecs>;

export function runFlight(argv: string[]): Promise<number> {
  return runCommand(FLIGHT, argv, async (values) => {
    if (!values.config) throw new UsageError('--config FILE is required');
    return flight(values.config, values.lockstep === true);
  });
}

async function flight(config: string, lockstep: boolean): Promise<number> {
  // Listening before start-up, so that a signal during it still ends in an orderly stop.
  let signalled!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  process.once('SIGINT', signalled);
  process.once('SIGTERM', signalled);
  let node: FlightNode;
  try {
    node = await FlightNode.start({ config: loadMission(config), lockstep });
  } catch (error) {
    // A node that did not start must not hold on to the signals: the default action ends it.
    process.off('SIGINT', signalled);
    process.off('SIGTERM', signalled);
    const line = startupError(error);
    if (line === undefined) throw error;
    console.error(`tern flight: ${line}`);
    return error instanceof TernError ? 2 : 1;
  }
  const orphaned = watchSupervisor(() => signalled('SIGTERM'));
  node.log.info({ signal: await signal }, 'stopping');
  clearInterval(orphaned);
  await node.stop();
  return 0;
}

/** Set by `tern mission` for the nodes it starts: the launcher's pid. */
export const SUPERVISOR_ENV = 'TERN_SUPERVISOR_PID';

/**
 * A process a mission launcher started (a node, the console) stops in order when the launcher is
 * gone (killed outright, so it could not stop them): an orphan would hold the mission's ports
 * and data.
 */
export function watchSupervisor(stop: () => void): NodeJS.Timeout | undefined {
  const supervisor = Number(process.env[SUPERVISOR_ENV]);
  if (!Number.isInteger(supervisor) || supervisor <= 0) return undefined;
  const timer = setInterval(() => {
    if (process.ppid !== supervisor) stop();
  }, 1000);
  timer.unref();
  return timer;
}

/**
 * The one line an operator sees for a node that could not start: a config error names the file
 * and field; a system error (a directory it may not write) names its path. Undefined for
 * anything else, a fault in Tern itself, whose stack trace is worth having.
 */
function startupError(error: unknown): string | undefined {
  if (error instanceof TernError) return error.message;
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return e.message;
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await runFlight(process.argv.slice(2));
}
