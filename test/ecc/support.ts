// Protected memory over a real WASM core, with telemetry and an event list the test can read.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core } from '../../flight/core/wasm.js';
import { ProtectedMemory } from '../../flight/ecc/memory.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

export interface EccHarness {
  core: Core;
  memory: ProtectedMemory;
  tlm: TelemetryRegistry;
  events: EventRecord[];
  safe: Array<{ what: string; reason: string }>;
  dir: string;
  value(channel: string): number;
  named(name: string): EventRecord[];
}

let shared: Core | undefined;

export function eccHarness(core: Core = (shared ??= new Core())): EccHarness {
  const tlm = new TelemetryRegistry();
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const events: EventRecord[] = [];
  log.onEvent((e) => events.push(e));
  const memory = new ProtectedMemory({ core, tlm, events: log });
  const safe: Array<{ what: string; reason: string }> = [];
  memory.onGoSafe((what, reason) => safe.push({ what, reason }));
  return {
    core, memory, tlm, events, safe,
    dir: mkdtempSync(join(tmpdir(), 'tern-ecc-')),
    value: (name) => tlm.get(name)!.value,
    named: (name) => events.filter((e) => e.name === name),
  };
}
