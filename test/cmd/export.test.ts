// The ground dictionary: versioned JSON with a SHA-256 over its canonical form.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CMD_CHANNELS, CMD_COMMANDS, CMD_EVENTS, CMD_PARAMS } from '../../flight/cmd/dictionary.js';
import { buildDictionary, canonicalJson, dictionaryJson, readDictionary } from '../../flight/cmd/export.js';
import { EXEC_CHANNELS, EXEC_EVENTS } from '../../flight/exec/dictionary.js';
import { TLM_EVENTS } from '../../flight/tlm/dictionary.js';

const parts = {
  commands: Object.values(CMD_COMMANDS),
  channels: [...Object.values(EXEC_CHANNELS), ...Object.values(CMD_CHANNELS)],
  events: [...Object.values(EXEC_EVENTS), ...Object.values(TLM_EVENTS), ...Object.values(CMD_EVENTS)],
  parameters: Object.values(CMD_PARAMS),
};

describe('dictionary export', () => {
  it('has every command, channel, event and parameter, and a hash independent of declaration order', () => {
    const d = buildDictionary(parts);
    expect(d.format).toBe('tern-dictionary');
    expect(d.formatVersion).toBe(1);
    expect(d.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.commands.map((c) => c.name)).toContain('OPERATOR_ROTATE');
    expect(d.commands.find((c) => c.name === 'SET_MODE')).toMatchObject({ opcode: 0x0101, criticalWhen: 'leaving SAFE' });
    expect(d.channels.find((c) => c.name === 'cmd.rejected.replay')).toMatchObject({ yellow: { high: 0 } });
    expect(d.events.every((e) => e.id >= 0x0100)).toBe(true);
    const reversed = buildDictionary({
      commands: [...parts.commands].reverse(), channels: [...parts.channels].reverse(),
      events: [...parts.events].reverse(), parameters: [...parts.parameters].reverse(),
    });
    expect(reversed.hash).toBe(d.hash);
    const fewer = buildDictionary({ ...parts, commands: parts.commands.slice(1) });
    expect(fewer.hash).not.toBe(d.hash);
  });

  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: 'x' }] })).toBe('{"a":[{"b":"x","d":2}],"b":1}');
  });

  it('reads back a written dictionary and refuses an edited one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tern-dict-')), 'dictionary.json');
    writeFileSync(file, dictionaryJson(buildDictionary(parts)));
    expect(readDictionary(file).commands).toHaveLength(parts.commands.length);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"max": 64', '"max": 65'));
    expect(() => readDictionary(file)).toThrow(/hash: expected sha256:[0-9a-f]+ \(the file was edited or is damaged\)/);
    writeFileSync(file, '{"format":"other"}');
    expect(() => readDictionary(file)).toThrow(/format: expected "tern-dictionary"/);
  });
});
