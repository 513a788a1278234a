// Triage of image bundles: each is scored by person_detect run in slices by the service's infer
// task, then expedited, kept or dropped by the configured thresholds; a payload that is not an
// image, and a full queue, make the delivery fail (the agent keeps the bundle).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { InferenceCore } from '../../flight/core/wasm.js';
import type { Bundle } from '../../flight/dtn/bundle.js';
import type { ServiceHandler } from '../../flight/dtn/agent/context.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { ConfigError } from '../../flight/errors.js';
import { InferInputError } from '../../flight/infer/errors.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { decide, parseTriageConfig, TriageService, type TriageDecision } from '../../flight/infer/triage.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { until } from '../support/wait.js';

const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const bmp = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, VECTORS)));
const plan = importTflite(bmp('person_detect.tflite'));
const frame = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
let sequence = 0;
const imageBundle = (payload: Uint8Array): Bundle => createBundle({ destination: ipn(2, 40), source: ipn(9, 1), creationTime: 1, sequence: sequence++, lifetime: 60_000, payload });

function setup(keepAbove: number) {
  const actions: [TriageDecision, number][] = [];
  const act = (decision: TriageDecision) => (_: Bundle, score: number) => { actions.push([decision, score]); };
  const service = new TriageService(new LoadedModel(new InferenceCore(), plan), { name: 'infer.triage', criticality: 'low', budgetUs: 2000, workPerUs: 300, queueLength: 2 },
    { scoreIndex: 1, expediteAbove: 0.9, keepAbove }, { expedite: act('expedite'), keep: act('keep'), drop: act('drop') });
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const emitted: EventRecord[] = [];
  events.onEvent((e) => emitted.push(e));
  service.bindTelemetry(tlm, events);
  // The executive's part: run the task's slices until nothing is pending.
  const drain = async (): Promise<void> => {
    await until(() => { service.task.run(frame); return service.task.pending === 0; }, 'triage inferences');
  };
  return { service, actions, drain, value: (n: string) => tlm.get(n)!.value, emitted };
}

describe('triage service', () => {
  it('expedites the person image and keeps or drops the other by threshold', async () => {
    for (const [keepAbove, expected] of [[0.25, 'keep'], [0.5, 'drop']] as const) {
      const { service, actions, drain, value, emitted } = setup(keepAbove);
      const decisions = Promise.all([service.triage(imageBundle(bmp('person.bmp'))), service.triage(imageBundle(bmp('no_person.bmp')))]);
      await drain();
      expect(await decisions).toEqual(['expedite', expected]);
      expect(actions).toEqual([['expedite', 241 / 256], [expected, 71 / 256]]);
      expect(value('infer.triage.expedited')).toBe(1);
      expect(value(expected === 'keep' ? 'infer.triage.kept' : 'infer.triage.dropped')).toBe(1);
      expect(value('infer.slices')).toBeGreaterThan(2);
      expect(emitted.filter((e) => e.name === 'INFER_TRIAGE_DECISION').map((e) => e.args.decision)).toEqual(['expedite', expected]);
    }
  });

  it('takes the raw input tensor as payload too', async () => {
    const { service, drain } = setup(0.25);
    const decision = service.triage(imageBundle(new Uint8Array(96 * 96)));
    await drain();
    expect(['expedite', 'keep', 'drop']).toContain(await decision);
    // As the agent calls it: a ServiceHandler that resolves once the action is done.
    const handler: ServiceHandler = service.handle;
    const delivered = handler(imageBundle(bmp('person.bmp')), {});
    await drain();
    await expect(delivered).resolves.toBeUndefined();
  });

  it('fails the delivery of a payload that is not an image, and beyond the queue', async () => {
    const { service, value, drain } = setup(0.25);
    await expect(service.triage(imageBundle(new Uint8Array(100)))).rejects.toThrow(InferInputError);
    expect(value('infer.triage.refused')).toBe(1);
    const accepted = [service.triage(imageBundle(bmp('person.bmp'))), service.triage(imageBundle(bmp('person.bmp')))];
    await expect(service.triage(imageBundle(bmp('person.bmp')))).rejects.toThrow(/queue/);
    await drain();
    expect(await Promise.all(accepted)).toEqual(['expedite', 'expedite']);
  });

  it('reads its thresholds from the mission config and refuses inconsistent ones', () => {
    const f = new Fields('mission.json');
    expect(parseTriageConfig(f, { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.3 }, 'triage')).toEqual({ scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.3 });
    expect(() => parseTriageConfig(f, { scoreIndex: 1, expediteAbove: 0.2, keepAbove: 0.3 }, 'triage')).toThrow(ConfigError);
    expect(() => parseTriageConfig(f, { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.3, extra: 1 }, 'triage')).toThrow(ConfigError);
    expect(decide({ scoreIndex: 0, expediteAbove: 0.9, keepAbove: 0.3 }, 0.3)).toBe('keep');
    expect(() => new TriageService(new LoadedModel(new InferenceCore(), plan), { name: 'infer.t', criticality: 'low', budgetUs: 2000, workPerUs: 300 },
      { scoreIndex: 2, expediteAbove: 0.9, keepAbove: 0.3 }, { expedite: () => {}, keep: () => {}, drop: () => {} })).toThrow(InferInputError);
  });
});
