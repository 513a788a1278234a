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
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let node: FlightNode;
  try {
    node = await FlightNode.start({ config: loadMission(values.config) });
  } catch (error) {
    if (error instanceof TernError) {
      console.error(`tern flight: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const signal = await signalled;
  node.log.info({ signal }, 'stopping');
  await node.stop();
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await runFlight(process.argv.slice(2));
}
