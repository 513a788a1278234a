// `tern config`: mission configs for people. `check` reads configs as a node would (every error
// names the file and field); `reference` and `schema` print the reference and the JSON Schema
// made from flight/config/reference.ts (the committed REFERENCE.md and mission.schema.json are
// these outputs, checked by test/config/reference.test.ts).
import { runCommand, runGroup, UsageError, type CommandSpec, type GroupSpec, type OptionSpecs } from '../cli-args.js';
import { writeFileDurable } from '../durable.js';
import { TernError } from '../errors.js';
import { missionReference, missionSchema } from './generate.js';
import { loadMission } from './mission.js';

const OUT = { out: { type: 'string', arg: 'FILE', doc: 'write to FILE instead of stdout' } } as const satisfies OptionSpecs;

const CHECK = {
  name: 'tern config check',
  summary: 'Reads each mission config as a node would, and says which are valid; nothing is started.',
  usage: ['FILE...'],
  options: {},
  positionals: true,
  notes: 'Exit codes: 0 all valid; 1 some invalid (one line each names file, field and expectation); 2 bad input.',
  examples: ['tern config check flight/config/missions/local/*.json flight/config/examples/minimal.json'],
} as const satisfies CommandSpec<OptionSpecs>;

const REFERENCE = {
  name: 'tern config reference',
  summary: 'Prints the reference of every mission-config field (type, default, meaning) as Markdown.',
  usage: ['[--out FILE]'],
  options: OUT,
  examples: ['tern config reference --out flight/config/REFERENCE.md'],
} as const satisfies CommandSpec<OptionSpecs>;

const SCHEMA = {
  name: 'tern config schema',
  summary: 'Prints the JSON Schema (draft 2020-12) of a mission config.',
  usage: ['[--out FILE]'],
  options: OUT,
  examples: ['tern config schema --out flight/config/mission.schema.json'],
} as const satisfies CommandSpec<OptionSpecs>;

function emit(text: string, out: string | undefined): number {
  if (out === undefined) process.stdout.write(text);
  else writeFileDurable(out, text);
  return 0;
}

const CONFIG: GroupSpec = {
  name: 'tern config',
  summary: 'Mission configs: check them, and their reference and JSON Schema.',
  commands: {
    check: {
      summary: 'read configs as a node would',
      run: (argv) => runCommand(CHECK, argv, async (_values, files) => {
        if (files.length === 0) throw new UsageError('give at least one FILE');
        let bad = 0;
        for (const file of files) {
          try {
            const config = loadMission(file);
            console.log(`${file}: valid (node ${config.node.id} ${config.node.name})`);
          } catch (error) {
            if (!(error instanceof TernError)) throw error;
            console.error(error.message);
            bad++;
          }
        }
        return bad === 0 ? 0 : 1;
      }),
    },
    reference: { summary: 'every field with its default and meaning (Markdown)', run: (argv) => runCommand(REFERENCE, argv, async (v) => emit(missionReference(), v.out)) },
    schema: { summary: 'the JSON Schema of a mission config', run: (argv) => runCommand(SCHEMA, argv, async (v) => emit(`${JSON.stringify(missionSchema(), null, 2)}\n`, v.out)) },
  },
  examples: ['tern config check flight/config/examples/minimal.json', 'tern config reference | less'],
};

export function runConfig(argv: string[]): Promise<number> {
  return runGroup(CONFIG, argv);
}
