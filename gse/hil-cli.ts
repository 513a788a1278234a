// `tern hil`: the HIL bench's tools. `tern hil proxy` passes bytes between two serial ports with
// injected faults (hil/proxy.ts); it prints one JSON line when ready, its counters every
// --stats-every seconds, and once more when it ends (SIGINT or SIGTERM). Exit 2 on bad input.
import { parseArgs } from 'node:util';
import { TernError } from '../flight/errors.js';
import { HilInputError } from '../hil/errors.js';
import { SerialProxy, type ProxyOptions } from '../hil/proxy.js';
import { runBench, RUN_USAGE } from '../hil/run-cli.js';

export const HIL_USAGE = `${RUN_USAGE}

usage: tern hil proxy --a DEVICE --b DEVICE [--baud B] [--ber P] [--burst LEN/PERIOD] [--drop P]
                      [--delay MS] [--disconnect AT/FOR] [--seed S] [--stats-every S]

proxy   passes bytes between serial ports A and B, each way paced at B baud (8N1, default 115200),
        flipping each bit with probability --ber, corrupting a burst of LEN bytes in every PERIOD
        bytes, dropping each code block (sync marker 1ACFFC1D to the next) with probability
        --drop, delaying every byte by MS, and passing nothing from AT to AT+FOR seconds after
        start. Faults come from seed S (default 1): the same seed gives the same damage.
        Prints JSON lines: {"event":"ready"}, then {"event":"stats","aToB":{...},"bToA":{...}}.

example:
  tern hil proxy --a /dev/ttyUSB0 --b /dev/ttyUSB1 --ber 1e-5 --seed 3`;

const OPTIONS = {
  a: { type: 'string' },
  b: { type: 'string' },
  baud: { type: 'string', default: '115200' },
  ber: { type: 'string', default: '0' },
  burst: { type: 'string' },
  drop: { type: 'string', default: '0' },
  delay: { type: 'string', default: '0' },
  disconnect: { type: 'string' },
  seed: { type: 'string', default: '1' },
  'stats-every': { type: 'string', default: '10' },
  help: { type: 'boolean', short: 'h' },
} as const;

const NUMBER = /^\d+(\.\d+)?(e-?\d+)?$/i;

function numberOption(text: string | undefined, option: string, expected: string, min: number, max: number): number {
  const value = text !== undefined && NUMBER.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new HilInputError(option, expected, text);
  return value;
}

function pair(text: string | undefined, option: string, expected: string): [number, number] | undefined {
  if (text === undefined) return undefined;
  const match = /^([^/]+)\/([^/]+)$/.exec(text);
  if (!match || !NUMBER.test(match[1]!) || !NUMBER.test(match[2]!)) throw new HilInputError(option, expected, text);
  return [Number(match[1]), Number(match[2])];
}

/** The proxy's options from the command line; every mistake names its option. */
export function parseProxyArgs(argv: string[]): ProxyOptions & { statsEveryS: number } {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  if (!values.a?.startsWith('/')) throw new HilInputError('a', 'a serial device path (/dev/ttyUSB0)', values.a);
  if (!values.b?.startsWith('/')) throw new HilInputError('b', 'a serial device path (/dev/ttyUSB1)', values.b);
  const burst = pair(values.burst, 'burst', 'LEN/PERIOD in bytes, LEN < PERIOD (50/2000)');
  if (burst && (burst[0] < 1 || burst[0] >= burst[1] || !Number.isInteger(burst[0]) || !Number.isInteger(burst[1]))) {
    throw new HilInputError('burst', 'LEN/PERIOD in bytes, LEN < PERIOD (50/2000)', values.burst);
  }
  const disconnect = pair(values.disconnect, 'disconnect', 'AT/FOR in seconds (30/10)');
  return {
    a: values.a,
    b: values.b,
    baud: numberOption(values.baud, 'baud', 'a baud rate from 300 to 12000000', 300, 12_000_000),
    ber: numberOption(values.ber, 'ber', 'a bit error rate from 0 to 0.5', 0, 0.5),
    drop: numberOption(values.drop, 'drop', 'a probability from 0 to 1', 0, 1),
    delayMs: numberOption(values.delay, 'delay', 'milliseconds from 0 to 600000', 0, 600_000),
    seed: numberOption(values.seed, 'seed', 'an integer seed', 0, 2 ** 32 - 1),
    statsEveryS: numberOption(values['stats-every'], 'stats-every', 'seconds from 0.1 to 3600', 0.1, 3600),
    ...(burst ? { burst: { length: burst[0], period: burst[1] } } : {}),
    ...(disconnect ? { disconnect: { atS: disconnect[0], forS: disconnect[1] } } : {}),
  };
}

async function proxy(argv: string[]): Promise<number> {
  const options = parseProxyArgs(argv);
  const running = new SerialProxy(options);
  await running.start();
  const print = (event: string): void => console.log(JSON.stringify({ event, ...running.stats() }));
  console.log(JSON.stringify({ event: 'ready', a: options.a, b: options.b, baud: options.baud }));
  const timer = setInterval(() => print('stats'), options.statsEveryS * 1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  print('stats');
  await running.close();
  return 0;
}

export async function runHil(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log(HIL_USAGE);
    return sub === undefined ? 2 : 0;
  }
  try {
    if (sub === 'run') return await runBench(rest);
    if (sub === 'proxy') {
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(HIL_USAGE);
        return 0;
      }
      return await proxy(rest);
    }
    throw new HilInputError('command', 'run or proxy', sub);
  } catch (error) {
    if (error instanceof TernError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(JSON.stringify({ error: (error as Error).message, code: (error as { code?: string }).code }));
      return 2;
    }
    throw error;
  }
}
