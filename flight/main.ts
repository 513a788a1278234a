// `tern flight --config FILE`: runs one node until SIGINT or SIGTERM. This is the entry point
// deployed to an OBC (node dist/flight/main.js --config /etc/tern/mission.json).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FlightNode } from './app.js';
import { loadMission } from './config/mission.js';
import { TernError } from './errors.js';

export const FLIGHT_USAGE = `usage: tern flight --config FILE

Runs one Tern node on the mission config FILE until SIGINT or SIGTERM.`;

export async function runFlight(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(FLIGHT_USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(FLIGHT_USAGE);
    return 2;
  }
  // Listening before start-up, so that a signal during it still ends in an orderly stop.
  let signalled!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  process.once('SIGINT', signalled);
  process.once('SIGTERM', signalled);
  let node: FlightNode;
  try {
    node = await FlightNode.start({ config: loadMission(values.config) });
  } catch (error) {
    // A node that did not start must not hold on to the signals: the default action ends it.
    process.off('SIGINT', signalled);
    process.off('SIGTERM', signalled);
    const line = startupError(error);
    if (line === undefined) throw error;
    console.error(`tern flight: ${line}`);
    return error instanceof TernError ? 2 : 1;
  }
  node.log.info({ signal: await signal }, 'stopping');
  await node.stop();
  return 0;
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
