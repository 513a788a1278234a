// The ground dictionary: every command, telemetry channel, event and parameter of a node as
// versioned JSON, as F Prime's GDS reads its JSON dictionary. The hash is SHA-256 over the
// canonical form (keys sorted, no whitespace) of everything but the hash itself, so ground
// tools and operators can tell at a glance whether they hold the dictionary a node runs.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readJsonFile } from '../config/fields.js';
import { writeFileDurable } from '../durable.js';
import { ConfigError } from '../errors.js';
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';
import type { CommandDef } from './commands.js';
import type { ParamDef } from './params.js';

export const DICTIONARY_FORMAT = 'tern-dictionary';
export const DICTIONARY_VERSION = 1;
/** Where a node writes its dictionary, under its data directory. */
export const DICTIONARY_FILE = 'dictionary.json';

export interface Dictionary {
  readonly format: typeof DICTIONARY_FORMAT;
  readonly formatVersion: number;
  /** "sha256:<hex>" of the canonical form of all other fields. */
  readonly hash: string;
  readonly commands: readonly CommandDef[];
  readonly channels: readonly ChannelDef[];
  readonly events: readonly EventDef[];
  readonly parameters: readonly ParamDef[];
}

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function hashOf(content: Omit<Dictionary, 'hash'>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

export interface DictionaryParts {
  readonly commands: readonly CommandDef[];
  readonly channels: readonly ChannelDef[];
  readonly events: readonly EventDef[];
  readonly parameters: readonly ParamDef[];
}

export function buildDictionary(parts: DictionaryParts): Dictionary {
  // Plain data in a stable order: the hash must not depend on declaration order.
  const plain = <T>(items: readonly T[]): T[] => JSON.parse(JSON.stringify(items)) as T[];
  const content = {
    format: DICTIONARY_FORMAT,
    formatVersion: DICTIONARY_VERSION,
    commands: plain([...parts.commands].sort((a, b) => a.opcode - b.opcode)),
    channels: plain([...parts.channels].sort((a, b) => a.name.localeCompare(b.name))),
    events: plain([...parts.events].sort((a, b) => a.id - b.id)),
    parameters: plain([...parts.parameters].sort((a, b) => a.name.localeCompare(b.name))),
  } as const;
  const ids = new Set(content.events.map((e) => e.id));
  if (ids.size !== content.events.length) throw new Error('two events share an id');
  return { ...content, hash: hashOf(content) };
}

export function dictionaryJson(dictionary: Dictionary): string {
  return `${JSON.stringify(dictionary, null, 2)}\n`;
}

/** Reads a dictionary file, checking its format and hash; throws ConfigError naming the file. */
export function readDictionary(file: string): Dictionary {
  const raw = readJsonFile(file, 'dictionary file (tern gse dict writes one)');
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(file, '(file)', 'a JSON object');
  const d = raw as Partial<Dictionary>;
  if (d.format !== DICTIONARY_FORMAT) throw new ConfigError(file, 'format', JSON.stringify(DICTIONARY_FORMAT), d.format);
  if (d.formatVersion !== DICTIONARY_VERSION) throw new ConfigError(file, 'formatVersion', String(DICTIONARY_VERSION), d.formatVersion);
  for (const key of ['commands', 'channels', 'events', 'parameters'] as const) {
    if (!Array.isArray(d[key])) throw new ConfigError(file, key, 'an array', d[key]);
  }
  const { hash, ...content } = d as Dictionary;
  const computed = hashOf(content);
  if (hash !== computed) throw new ConfigError(file, 'hash', `${computed} (the file was edited or is damaged)`, hash);
  return d as Dictionary;
}

/** Writes a node's dictionary where `tern gse ... --from DATA_DIR` finds it. */
export function writeDictionary(dataDir: string, dictionary: Dictionary): string {
  const file = join(dataDir, DICTIONARY_FILE);
  writeFileDurable(file, dictionaryJson(dictionary));
  return file;
}
