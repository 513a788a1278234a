// The dictionary the ground tools use: a node's own export (DATA_DIR/dictionary.json, written at
// start by the composition root), a file given with --dict, or, with neither, the standard
// dictionary of this build (commanding's commands and parameters, the executive's, telemetry's
// and commanding's channels and events).
import { join } from 'node:path';
import { CMD_CHANNELS, CMD_COMMANDS, CMD_EVENTS, CMD_PARAMS } from '../flight/cmd/dictionary.js';
import { buildDictionary, DICTIONARY_FILE, readDictionary, type Dictionary } from '../flight/cmd/export.js';
import { EXEC_CHANNELS, EXEC_EVENTS } from '../flight/exec/dictionary.js';
import { TLM_EVENTS } from '../flight/tlm/dictionary.js';

export function standardDictionary(): Dictionary {
  return buildDictionary({
    commands: Object.values(CMD_COMMANDS),
    channels: [...Object.values(EXEC_CHANNELS), ...Object.values(CMD_CHANNELS)],
    events: [...Object.values(EXEC_EVENTS), ...Object.values(TLM_EVENTS), ...Object.values(CMD_EVENTS)],
    parameters: Object.values(CMD_PARAMS),
  });
}

/** --dict FILE, else DATA_DIR/dictionary.json (--from), else the standard dictionary. */
export function loadDictionary(options: { dict?: string; from?: string }): Dictionary {
  if (options.dict !== undefined) return readDictionary(options.dict);
  if (options.from !== undefined) return readDictionary(join(options.from, DICTIONARY_FILE));
  return standardDictionary();
}
