#!/usr/bin/env node
// `tern`: the one command line for flight engineers, benches and operators. Each command lives
// with the subsystem that owns it and is loaded only when asked for. This file sits in gse/
// because it gathers ground commands too; an OBC runs dist/flight/main.js and needs none of gse.
import { runGroup, type GroupSpec } from '../flight/cli-args.js';

const TERN: GroupSpec = {
  name: 'tern',
  summary: 'Tern: flight software for CubeSat constellations, and its ground and bench tools.',
  examples: ['tern mission', 'tern gse send 20 PING 42 --key flight/config/missions/local/keys/demo-operator.key --via 127.0.0.1:4610'],
  commands: {
    mission: {
      summary: 'run a local mission (flight nodes + ground console) with a live view: tern mission [--dir DIR] [--raw]',
      run: async (argv) => (await import('./mission.js')).runMission(argv),
    },
    flight: {
      summary: 'run one flight node: tern flight --config FILE',
      run: async (argv) => (await import('../flight/main.js')).runFlight(argv),
    },
    status: {
      summary: 'the latest housekeeping of a node, running or stopped: tern status --data DIR',
      run: async (argv) => (await import('../flight/tlm/status-cli.js')).runStatus(argv),
    },
    config: {
      summary: 'mission configs: tern config check FILE... | reference | schema (every field, its default and meaning)',
      run: async (argv) => (await import('../flight/config/cli.js')).runConfig(argv),
    },
    gse: {
      summary: 'ground tools: tern gse keygen|send|cosign|tlm|dict|console|export (signed commands, telemetry)',
      run: async (argv) => (await import('./cli.js')).runGse(argv),
    },
    store: {
      summary: 'a node\'s stored bundles, node stopped or running: tern store ls|cat --data DIR',
      run: async (argv) => (await import('../flight/dtn/store/ls.js')).runStore(argv),
    },
    bundle: {
      summary: 'decode a BPv7 bundle and print it as JSON: tern bundle inspect FILE|- [--hex] [--keys JWK-FILE]',
      run: async (argv) => (await import('../flight/dtn/inspect.js')).runBundle(argv),
    },
    route: {
      summary: 'contact plans and CGR: tern route query|tree|plan|walker (routes, earliest arrivals, plans from orbits)',
      run: async (argv) => (await import('./route-cli.js')).runRoute(argv),
    },
    infer: {
      summary: 'onboard inference: tern infer import MODEL.tflite --out MODEL.tern | run --model M (--bmp F | --raw F) [--build simd|scalar]',
      run: async (argv) => (await import('./infer-cli.js')).runInfer(argv),
    },
    seu: {
      summary: 'SEU campaigns on protected memory, upsets in stored files: tern seu campaign --upsets N [--rate R] [--pattern P] [--seed S] | flip FILE --offset O',
      run: async (argv) => (await import('./seu-cli.js')).runSeu(argv),
    },
    hil: {
      summary: 'HIL bench: tern hil proxy --a DEV --b DEV [--ber P] [--burst LEN/PERIOD] [--drop P] [--delay MS] [--baud B] [--disconnect AT/FOR]',
      run: async (argv) => (await import('./hil-cli.js')).runHil(argv),
    },
    fec: {
      summary: 'CCSDS RS(255,223) on hex: tern fec rs-encode|rs-decode [HEX] [--basis B] [--interleave I] [--fill Q] [--erasures i,j]',
      run: async (argv) => (await import('../flight/core/fec-cli.js')).runFec(argv),
    },
    jitter: {
      summary: 'measure frame-start punctuality on this machine: tern jitter --seconds 30',
      run: async (argv) => (await import('../flight/exec/jitter.js')).runJitter(argv),
    },
  },
};

process.exitCode = await runGroup(TERN, process.argv.slice(2));
