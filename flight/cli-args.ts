// The one way a `tern` command reads its arguments and answers --help. A command declares its
// options once (type, placeholder, one line of doc), its synopsis and at least one example; the
// help text is made from that declaration, so the two cannot drift. Parsing is node:util
// parseArgs; an unknown option or subcommand is answered with the closest known one. Lives in
// flight/ because `tern flight` and `tern store` are flight commands (flight imports nothing
// from gse).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TernError } from './errors.js';

type ParseArgsOption = NonNullable<ParseArgsConfig['options']>[string];

export type OptionSpec = ParseArgsOption & {
  /** Placeholder of the value in help (FILE, HOST:PORT); string options only. */
  readonly arg?: string;
  readonly doc: string;
};

export type OptionSpecs = Record<string, OptionSpec>;

export interface CommandSpec<O extends OptionSpecs> {
  /** The whole command as typed: "tern gse send". */
  readonly name: string;
  /** What it does, one line. */
  readonly summary: string;
  /** Synopsis lines after the name: "NODE COMMAND [ARGS...] --key FILE ...". */
  readonly usage: readonly string[];
  readonly options: O;
  readonly positionals?: boolean;
  /** Paragraphs shown after the options: exit codes, what is durable, caveats. */
  readonly notes?: string;
  readonly examples: readonly string[];
}

/** Bad input on the command line: one line on stderr, exit code 2, nothing done. */
export class UsageError extends TernError {
  readonly code = 'CLI_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', doc: 'show this help' };

/** An option's decimal integer in [min, max], or a UsageError naming `what`. */
export function integerOption(text: string | undefined, what: string, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

export function commandHelp<O extends OptionSpecs>(spec: CommandSpec<O>): string {
  const options = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    const more = [o.multiple ? 'repeatable' : '', o.default !== undefined ? `default ${String(o.default)}` : ''].filter(Boolean).join(', ');
    return [flag, `${o.doc}${more ? ` (${more})` : ''}`] as const;
  });
  const width = Math.min(32, Math.max(...options.map(([flag]) => flag.length)));
  return [
    `usage: ${spec.usage.map((u) => `${spec.name} ${u}`).join(`\n       `)}`,
    '',
    spec.summary,
    '',
    'options:',
    ...options.map(([flag, doc]) => `  ${flag.padEnd(width)}  ${doc}`),
    ...(spec.notes ? ['', spec.notes] : []),
    '',
    spec.examples.length > 1 ? 'examples:' : 'example:',
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** The candidate nearest to `word`, if it is near enough to be what was meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) || word.startsWith(c) ? Math.abs(c.length - word.length) * 0.5 : distance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function suggestion(word: string, candidates: readonly string[]): string {
  const near = closest(word, candidates);
  return near === undefined ? '' : ` (did you mean ${near}?)`;
}

export type Parsed<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; args: string[] }>>;

type ParseArgsOptions = Record<string, ParseArgsOption>;

/**
 * Strict node:util parseArgs for a command whose help is written by hand (route, infer, seu,
 * fec, jitter, console, export). Anything parseArgs refuses becomes a UsageError; an unknown
 * option names the closest declared one, else `name --help`.
 */
export function parseOptions<O extends ParseArgsOptions>(name: string, options: O, argv: readonly string[], positionals = false) {
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    if (!positionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string }).code;
    if (!code?.startsWith('ERR_PARSE_ARGS')) throw error;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((error as Error).message)?.[1];
    if (unknown !== undefined) {
      const names = Object.keys(options).map((n) => `--${n}`);
      throw new UsageError(`unknown option ${unknown}${suggestion(unknown, names) || ` (${name} --help lists them)`}`);
    }
    throw new UsageError((error as Error).message.split('. ')[0]!);
  }
}

/** An action name no command has: the closest one, if any is near. */
export function unknownCommand(name: string, word: string, commands: readonly string[]): UsageError {
  const what = word.startsWith('-') ? 'option' : 'command';
  return new UsageError(`unknown ${what} ${JSON.stringify(word)}${suggestion(word, commands) || ` (${name} --help lists them)`}`);
}

/**
 * The command's values and positionals, or undefined when help was asked for (then printed on
 * stdout). Anything parseArgs refuses becomes a UsageError naming the closest known option.
 */
export function parseCommand<O extends OptionSpecs>(spec: CommandSpec<O>, argv: readonly string[]): Parsed<O> | undefined {
  const end = argv.indexOf('--');
  const before = end < 0 ? argv : argv.slice(0, end);
  if (before.includes('--help') || before.includes('-h')) {
    console.log(commandHelp(spec));
    return undefined;
  }
  return parseOptions(spec.name, spec.options, argv, spec.positionals);
}

/** One line for the operator (scripts read it), exit code 2; anything that is not bad input is a bug and rethrown. */
export function usageFailure(name: string, error: unknown): number {
  if (!(error instanceof TernError)) throw error;
  console.error(`${name}: ${error.message}`);
  return 2;
}

/** Runs a command of `spec`: --help, parsing, and bad input reported as exit code 2. */
export async function runCommand<O extends OptionSpecs>(
  spec: CommandSpec<O>,
  argv: readonly string[],
  body: (values: Parsed<O>['values'], positionals: string[]) => Promise<number>,
): Promise<number> {
  try {
    const parsed = parseCommand(spec, argv);
    if (!parsed) return 0;
    return await body(parsed.values, parsed.positionals);
  } catch (error) {
    return usageFailure(spec.name, error);
  }
}

export interface Subcommand {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

export interface GroupSpec {
  /** "tern gse" */
  readonly name: string;
  readonly summary: string;
  readonly commands: Readonly<Record<string, Subcommand>>;
  readonly examples: readonly string[];
}

export function groupHelp(spec: GroupSpec): string {
  const width = Math.max(...Object.keys(spec.commands).map((n) => n.length));
  return [
    `usage: ${spec.name} COMMAND [OPTIONS]`,
    '',
    spec.summary,
    '',
    'commands:',
    ...Object.entries(spec.commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`${spec.name} COMMAND --help\` for a command's options and examples.`,
    '',
    spec.examples.length > 1 ? 'examples:' : 'example:',
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** Runs the subcommand argv[0] names; help with none, or with --help; the closest for a typo. */
export async function runGroup(spec: GroupSpec, argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(groupHelp(spec));
    return 0;
  }
  if (name === undefined) {
    console.error(groupHelp(spec));
    return 2;
  }
  const command = Object.hasOwn(spec.commands, name) ? spec.commands[name] : undefined;
  if (!command) {
    const what = name.startsWith('-') ? 'option' : 'command';
    console.error(`${spec.name}: unknown ${what} ${JSON.stringify(name)}${suggestion(name, Object.keys(spec.commands))}\nRun \`${spec.name} --help\` for its commands.`);
    return 2;
  }
  return command.run(rest);
}
