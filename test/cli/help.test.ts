// The whole `tern` command tree, walked as an operator would: `tern --help` names the commands,
// each command's help names its subcommands (a "commands:" list, or the words of its usage
// lines), and every node of the tree answers --help, as a real child process, with exit 0, a
// usage line and an example. Typos get the closest known option or command.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO, TERN } from '../support/node-process.js';

const run = promisify(execFile);

interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

async function tern(args: string[]): Promise<Answer> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TERN, ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The subcommands a help text names under `path` ("tern gse"): its commands: list and usage words. */
function subcommandsIn(path: string, help: string): string[] {
  const found = new Set<string>();
  const lines = help.split('\n');
  const listed = lines.indexOf('commands:');
  if (listed >= 0) {
    for (const line of lines.slice(listed + 1)) {
      const m = /^ {2}([a-z][a-z0-9-]*) {2,}\S/.exec(line);
      if (!m) break;
      found.add(m[1]!);
    }
  }
  const usage = new RegExp(`^(?:usage:)?\\s*${path.replace(/ /g, '\\s+')}\\s+([a-z][a-z0-9-]*(?:\\|[a-z][a-z0-9-]*)*)(?:\\s|$)`);
  for (const line of lines) {
    const m = usage.exec(line);
    if (m) for (const word of m[1]!.split('|')) found.add(word);
  }
  return [...found];
}

/** The long options a leaf's help declares: its options: list, and its own usage lines. */
function optionsIn(path: string, help: string): string[] {
  const found = new Set<string>();
  const lines = help.split('\n');
  const listed = lines.indexOf('options:');
  if (listed >= 0) {
    for (const line of lines.slice(listed + 1)) {
      const m = /^ +(?:-\w, )?--([a-z][a-z0-9-]*)/.exec(line);
      if (!m) break;
      found.add(m[1]!);
    }
  }
  for (const line of lines) {
    if (!line.replace(/^usage:/, '').trim().startsWith(`${path} `)) continue;
    for (const m of line.matchAll(/--([a-z][a-z0-9-]*)/g)) found.add(m[1]!);
  }
  found.delete('help');
  return [...found];
}

/** Every command path of the tree, breadth first, with its help answer. */
async function walk(): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  let level = [['tern']];
  while (level.length > 0) {
    const next: string[][] = [];
    // A few at a time: a loaded 2-core machine.
    for (let i = 0; i < level.length; i += 4) {
      const batch = level.slice(i, i + 4);
      const results = await Promise.all(batch.map((path) => tern([...path.slice(1), '--help'])));
      batch.forEach((path, j) => {
        const name = path.join(' ');
        answers.set(name, results[j]!);
        for (const sub of subcommandsIn(name, results[j]!.stdout)) next.push([...path, sub]);
      });
    }
    level = next;
  }
  return answers;
}

describe('tern --help, the whole command tree (child processes)', () => {
  it('every command and subcommand answers --help with exit 0, its usage and an example', async () => {
    expect(existsSync(TERN), 'run `npm run build` first').toBe(true);
    const answers = await walk();
    const names = [...answers.keys()];
    // The tree as the README's table names it, so a command dropped from the help is noticed.
    for (const name of ['tern mission', 'tern flight', 'tern status', 'tern config check', 'tern config reference', 'tern config schema', 'tern gse send', 'tern gse cosign', 'tern gse upload', 'tern gse keygen',
      'tern gse tlm', 'tern gse dict', 'tern gse console', 'tern gse export', 'tern store ls', 'tern store cat', 'tern bundle inspect',
      'tern route query', 'tern infer run', 'tern seu campaign', 'tern hil proxy', 'tern fec rs-decode', 'tern jitter']) {
      expect(names, `${name} is missing from the help tree`).toContain(name);
    }
    const bad = [...answers].filter(([, a]) => a.code !== 0 || !/^usage:/im.test(a.stdout) || !/^examples?:/im.test(a.stdout));
    expect(bad.map(([name, a]) => `${name} --help: exit ${a.code}, ${(a.stdout + a.stderr).slice(0, 120)}`)).toEqual([]);
    expect(answers.size).toBeGreaterThan(30);
  }, 300_000);

  it('an unknown option or command is answered with the closest known one, exit 2', async () => {
    const option = await tern(['gse', 'send', '20', 'PING', '--vai', '127.0.0.1:1']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/unknown option --vai \(did you mean --via\?\)/);
    expect(option.stderr.trimEnd().split('\n')).toHaveLength(1);
    const command = await tern(['gse', 'sned']);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command "sned" \(did you mean send\?\)/);
    const top = await tern(['misison']);
    expect(top).toMatchObject({ code: 2, stderr: expect.stringMatching(/did you mean mission\?/) });
    // Nothing near: no guess.
    const far = await tern(['store', 'ls', '--zzzzzzzz']);
    expect(far.stderr).not.toMatch(/did you mean/);
    expect(far.stderr).toMatch(/unknown option --zzzzzzzz \(tern store ls --help lists them\)/);
  });

  it('every command answers an option one letter off a real one with that option, and every group a mistyped command, exit 2', async () => {
    const answers = await walk();
    // meant undefined: a command without options, which must still refuse one (exit 2).
    const probes: { name: string; args: string[]; meant?: string }[] = [];
    for (const [name, answer] of answers) {
      // hil/** belongs to the HIL work in progress; its commands are not on the shared parser yet.
      if (name === 'tern hil' || name.startsWith('tern hil ')) continue;
      const path = name.split(' ').slice(1);
      const subcommands = subcommandsIn(name, answer.stdout);
      if (subcommands.length > 0) {
        const sub = subcommands.find((c) => c.length >= 4) ?? subcommands[0]!;
        probes.push({ name, args: [...path, `${sub}x`], meant: sub });
        continue;
      }
      const options = optionsIn(name, answer.stdout);
      if (options.length === 0) probes.push({ name, args: [...path, '--bogus-option'] });
      for (const option of options) probes.push({ name, args: [...path, `--${option}x`], meant: `--${option}` });
    }
    const wrong: string[] = [];
    for (let i = 0; i < probes.length; i += 4) {
      const batch = probes.slice(i, i + 4);
      const results = await Promise.all(batch.map((p) => tern(p.args)));
      batch.forEach((p, j) => {
        const r = results[j]!;
        const first = r.stderr.split('\n')[0]!;
        const said = p.meant === undefined ? /unknown option/.test(first) : first.includes(`(did you mean ${p.meant}?)`);
        if (r.code !== 2 || !said) wrong.push(`${p.args.join(' ')}: exit ${r.code}, ${first.slice(0, 160)}`);
      });
    }
    expect(wrong).toEqual([]);
    expect(probes.length).toBeGreaterThan(60);
  }, 600_000);

  it('help goes to stdout with exit 0 even where the command\'s own checks would refuse', async () => {
    // `gse send` takes positionals and requires --key: --help wins over both.
    const send = await tern(['gse', 'send', '20', '--help']);
    expect(send.code).toBe(0);
    expect(send.stdout).toMatch(/--bundle-out FILE\|-/);
    expect(send.stdout).toMatch(/--via HOST:PORT/);
  });
});
