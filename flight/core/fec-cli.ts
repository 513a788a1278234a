// `tern fec rs-encode | rs-decode`: the CCSDS Reed-Solomon code of the WASM core on hex from the
// command line or stdin, for ground engineers looking at captured frames (and for tests). Prints
// one JSON object; errors are JSON on stderr with the typed error's code.
import { parseOptions, unknownCommand, UsageError } from '../cli-args.js';
import { TernError } from '../errors.js';
import { FecInputError, RsUncorrectableError } from './errors.js';
import { core, rsBlockLength, type RsBasis, type RsCode } from './wasm.js';

export const FEC_USAGE = `usage: tern fec rs-encode [HEX] [--basis B] [--interleave I] [--fill Q]
       tern fec rs-decode [HEX] [--basis B] [--interleave I] [--fill Q] [--erasures i,j,...]

CCSDS 131.0-B Reed-Solomon (255,223), E = 16. HEX is the data (rs-encode: whole blocks of
I x (223 - Q) bytes) or the received code blocks (rs-decode: whole blocks of I x (255 - Q)
bytes); without HEX it is read from stdin. Whitespace in HEX is ignored.

  --basis conventional|dual   symbol representation (default dual, as CCSDS transmits)
  --interleave I              interleaving depth: 1, 2, 3, 4, 5 or 8 (default 1)
  --fill Q                    virtual fill: leading zero data symbols not sent (default 0)
  --erasures i,j,...          rs-decode: byte indexes of the input marked as erased

Prints JSON: rs-encode {"codeword": HEX, ...}; rs-decode {"data": HEX, "codeword": HEX,
"corrected": N, "perCodeword": [...], ...}. Exit 0 on success, 1 if a codeword is
uncorrectable (error JSON on stderr), 2 on bad input.

example:
  tern fec rs-encode 00010203 --fill 219`;

const OPTIONS = {
  basis: { type: 'string', default: 'dual' },
  interleave: { type: 'string', default: '1' },
  fill: { type: 'string', default: '0' },
  erasures: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(text: string, field: string): number {
  if (!/^\d+$/.test(text)) throw new FecInputError(field, 'a non-negative integer', text);
  return Number(text);
}

export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length === 0) throw new FecInputError('hex', 'hexadecimal bytes', 'nothing');
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw new FecInputError('hex', 'only hexadecimal digits', `${JSON.stringify(bad[0])} at digit ${bad.index}`);
  if (digits.length % 2 !== 0) throw new FecInputError('hex', 'an even number of hex digits', `${digits.length} digits`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function fail(error: TernError, exitCode: number): number {
  const details = error instanceof FecInputError
    ? { field: error.field }
    : error instanceof RsUncorrectableError ? { codewords: error.codewords } : {};
  console.error(JSON.stringify({ error: { code: error.code, message: error.message, ...details } }));
  return exitCode;
}

export async function runFec(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(FEC_USAGE);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'rs-encode' && action !== 'rs-decode') {
    console.error(`tern fec: ${unknownCommand('tern fec', action, ['rs-encode', 'rs-decode']).message}\n\n${FEC_USAGE}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseOptions(`tern fec ${action}`, OPTIONS, rest, true);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`tern fec ${action}: ${error.message}\n\n${FEC_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(FEC_USAGE);
    return 0;
  }
  try {
    if (positionals.length > 1) throw new FecInputError('hex', 'one HEX argument (or stdin)', `${positionals.length} arguments`);
    const code: RsCode = {
      basis: values.basis as RsBasis,
      interleave: integer(values.interleave, 'interleave'),
      fill: integer(values.fill, 'fill'),
    };
    const input = parseHex(positionals[0] ?? (await readStdin()));
    const settings = { basis: code.basis, interleave: code.interleave, fill: code.fill };
    if (action === 'rs-encode') {
      const codeword = core().rsEncode(input, code);
      console.log(JSON.stringify({ ...settings, blocks: codeword.length / rsBlockLength(code), codeword: Buffer.from(codeword).toString('hex') }));
      return 0;
    }
    const erasures = values.erasures === undefined || values.erasures === ''
      ? []
      : values.erasures.split(',').map((s) => integer(s.trim(), 'erasures'));
    const out = core().rsDecode(input, code, erasures);
    if (out.uncorrectable.length > 0) throw new RsUncorrectableError(out.uncorrectable, out.corrected.length);
    console.log(JSON.stringify({
      ...settings,
      blocks: out.codewords.length / rsBlockLength(code),
      corrected: out.correctedSymbols,
      perCodeword: [...out.corrected],
      data: Buffer.from(out.data).toString('hex'),
      codeword: Buffer.from(out.codewords).toString('hex'),
    }));
    return 0;
  } catch (error) {
    if (error instanceof RsUncorrectableError) return fail(error, 1);
    if (error instanceof TernError) return fail(error, 2);
    throw error;
  }
}
