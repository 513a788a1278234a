// `tern seu`: SEU campaigns on protected memory (virtual clock, seeded: the same seed prints the
// same JSON), and single upsets in stored files for HIL benches. Errors are JSON on stderr with
// the typed error's code.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, unknownCommand, UsageError } from '../flight/cli-args.js';
import { core } from '../flight/core/wasm.js';
import { runCampaign } from '../flight/ecc/campaign.js';
import { SeuInputError } from '../flight/ecc/errors.js';
import { flipFileBits, type UpsetPattern } from '../flight/ecc/injector.js';
import { TernError } from '../flight/errors.js';

export const SEU_USAGE = `usage: tern seu campaign --upsets N [--rate R] [--pattern single|double|burst] [--seed S] [--dir DIR]
       tern seu flip FILE --offset O [--mask M]

campaign  runs the protected regions, model weights and TMR scalars of a flight node under the
          scrubber on the virtual clock, injects N upsets arriving at R per second (default 100)
          with the pattern (default single) from seed S (default 1), compares the node's outputs
          (inference results, bundles) with an upset-free reference run, and prints JSON:
          {"regions": {"<region>": {"injected","corrected","detected","silent"}, ...}, "total": {...},
           ..., "outputs": {"inference": {"results","differ"}, "bundles": {"emitted","differ","digest","referenceDigest"}}}
          Golden copies go to DIR (default: a temporary directory, removed afterwards).
          Exit 0, or 1 if any upset was silent or any output differed.
flip      XORs mask M (default 1) into the byte at offset O of FILE and fsyncs it: an upset in
          stored data. Prints {"file","offset","mask"}.
Exit 2 on bad input.

examples:
  tern seu campaign --upsets 1000 --rate 100 --seed 7
  tern seu flip var/mission/sat-20/housekeeping.json --offset 10`;

const CAMPAIGN_OPTIONS = {
  upsets: { type: 'string' },
  rate: { type: 'string', default: '100' },
  pattern: { type: 'string', default: 'single' },
  seed: { type: 'string', default: '1' },
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLIP_OPTIONS = {
  offset: { type: 'string' },
  mask: { type: 'string', default: '1' },
  help: { type: 'boolean', short: 'h' },
} as const;

function number(text: string | undefined, field: string, pattern: RegExp, expected: string): number {
  if (text === undefined || !pattern.test(text)) throw new SeuInputError(field, expected, text ?? null);
  return Number(text);
}
const INTEGER = /^-?\d+$/;

function campaign(argv: string[]): number {
  const { values } = parseOptions('tern seu campaign', CAMPAIGN_OPTIONS, argv);
  if (values.help) {
    console.log(SEU_USAGE);
    return 0;
  }
  const options = {
    upsets: number(values.upsets, 'upsets', /^\d+$/, 'a positive integer'),
    ratePerS: number(values.rate, 'rate', /^\d+(\.\d+)?(e[+-]?\d+)?$/i, 'upsets per second, a positive number'),
    pattern: values.pattern as UpsetPattern,
    seed: number(values.seed, 'seed', INTEGER, 'an integer'),
  };
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'tern-seu-'));
  try {
    const result = runCampaign({ ...options, dir, core: core() });
    console.log(JSON.stringify(result));
    const outputsDiffer = result.outputs.inference.differ + result.outputs.bundles.differ;
    return result.total.silent > 0 || outputsDiffer > 0 ? 1 : 0;
  } finally {
    if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function flip(argv: string[]): number {
  const { values, positionals } = parseOptions('tern seu flip', FLIP_OPTIONS, argv, true);
  if (values.help) {
    console.log(SEU_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new SeuInputError('FILE', 'one file', positionals);
  const file = positionals[0]!;
  const offset = number(values.offset, 'offset', /^\d+$/, 'a byte offset');
  const mask = number(values.mask, 'mask', /^(0x[0-9a-f]{1,2}|\d{1,3})$/i, 'a byte mask 1..255');
  if (mask < 1 || mask > 255) throw new SeuInputError('mask', 'a byte mask 1..255', values.mask);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new SeuInputError('FILE', 'a readable file', `${file} (${(error as NodeJS.ErrnoException).code})`);
  }
  if (offset >= size) throw new SeuInputError('offset', `a byte offset below the file size ${size}`, offset);
  flipFileBits(file, offset, mask);
  console.log(JSON.stringify({ file, offset, mask }));
  return 0;
}

export async function runSeu(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(SEU_USAGE);
    return action === undefined ? 2 : 0;
  }
  try {
    if (action === 'campaign') return campaign(rest);
    if (action === 'flip') return flip(rest);
    console.error(`tern seu: ${unknownCommand('tern seu', action, ['campaign', 'flip']).message}\n\n${SEU_USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`tern seu ${action}: ${error.message}\n\n${SEU_USAGE}`);
      return 2;
    }
    if (error instanceof TernError) {
      console.error(JSON.stringify({ error: { code: error.code, message: error.message, ...(error instanceof SeuInputError ? { field: error.field } : {}) } }));
      return 2;
    }
    throw error;
  }
}
