#!/usr/bin/env node
// `tern`: the one command line for flight engineers, benches and operators. Each command lives
// with the subsystem that owns it and is loaded only when asked for. This file sits in gse/
// because it gathers ground commands too; an OBC runs dist/flight/main.js and needs none of gse.

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  flight: {
    summary: 'run one flight node: tern flight --config FILE',
    run: async (argv) => (await import('../flight/main.js')).runFlight(argv),
  },
  store: {
    summary: 'list the stored bundles of a node (stopped or running) as JSON lines: tern store ls --data DIR',
    run: async (argv) => (await import('../flight/dtn/store/ls.js')).runStore(argv),
  },
  mission: {
    summary: 'run a local mission (flight nodes + ground console): tern mission [--dir DIR]',
    run: async (argv) => (await import('./mission.js')).runMission(argv),
  },
  jitter: {
    summary: 'measure frame-start punctuality on this machine: tern jitter --seconds 30',
    run: async (argv) => (await import('../flight/exec/jitter.js')).runJitter(argv),
  },
  fec: {
    summary: 'CCSDS RS(255,223) on hex: tern fec rs-encode|rs-decode [HEX] [--basis B] [--interleave I] [--fill Q] [--erasures i,j]',
    run: async (argv) => (await import('../flight/core/fec-cli.js')).runFec(argv),
  },
  seu: {
    summary: 'SEU campaigns on protected memory, upsets in stored files: tern seu campaign --upsets N [--rate R] [--pattern P] [--seed S] | flip FILE --offset O',
    run: async (argv) => (await import('./seu-cli.js')).runSeu(argv),
  },
  bundle: {
    summary: 'decode a BPv7 bundle and print it as JSON: tern bundle inspect FILE|- [--hex] [--keys JWK-FILE]',
    run: async (argv) => (await import('../flight/dtn/inspect.js')).runBundle(argv),
  },
  infer: {
    summary: 'onboard inference: tern infer import MODEL.tflite --out MODEL.tern | run --model M (--bmp F | --raw F) [--build simd|scalar]',
    run: async (argv) => (await import('./infer-cli.js')).runInfer(argv),
  },
  gse: {
    summary: 'ground tools: tern gse keygen|send|tlm|dict (signed commands, telemetry, dictionary)',
    run: async (argv) => (await import('./cli.js')).runGse(argv),
  },
  hil: {
    summary: 'HIL bench: tern hil proxy --a DEV --b DEV [--ber P] [--burst LEN/PERIOD] [--drop P] [--delay MS] [--baud B] [--disconnect AT/FOR]',
    run: async (argv) => (await import('./hil-cli.js')).runHil(argv),
  },
  route: {
    summary: 'contact plans and CGR: tern route query|tree|plan|walker (routes, earliest arrivals, plans from orbits)',
    run: async (argv) => (await import('./route-cli.js')).runRoute(argv),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: tern COMMAND [ARGS]\n\ncommands:\n${lines.join('\n')}\n\nRun \`tern COMMAND --help\` for a command's options.`;
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exitCode = name === undefined ? 2 : 0;
} else {
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tern: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    process.exitCode = 2;
  } else {
    process.exitCode = await command.run(rest);
  }
}
