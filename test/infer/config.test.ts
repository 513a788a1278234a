// The `infer` section of a mission config: defaults, the model path taken from the config file's
// directory, and refusals naming the field; the infer task must be in the schedule.
import { describe, expect, it } from 'vitest';
import { parseMission } from '../../flight/config/mission.js';
import { ConfigError } from '../../flight/errors.js';

const NODE_SLOT = ['dtn.ingest', 'dtn.dispatch', 'dtn.store', 'tlm.housekeeping'];
const table = (slots: string[][]) => ({ minorFrameMs: 10, slots });
const execOf = (slots: string[][]) => ({ modes: { BOOT: table(slots), NOMINAL: table(slots), SAFE: table(slots) } });
const WITH_INFER = [NODE_SLOT, ['infer.triage']];
const triage = { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.5, downlink: 'ipn:100.14' };
const mission = (infer: unknown, slots = WITH_INFER) => ({ node: { id: 5 }, infer, exec: execOf(slots) });

function refusal(raw: unknown): string {
  try {
    parseMission('/missions/m.json', raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('infer config section', () => {
  it('reads the section with its defaults, the model relative to the config file', () => {
    const m = parseMission('/missions/m.json', mission({ model: 'models/person.tflite', triage }));
    expect(m.infer).toEqual({
      model: '/missions/models/person.tflite', budgetUs: 2000, derate: 0.5, queueLength: 4, maxModelBytes: 8 << 20,
      triage: { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.5, downlink: { scheme: 'ipn', node: 100, service: 14 }, lifetimeS: 86_400 },
    });
    expect(m.exec.modes.get('NOMINAL')!.slots[1]!.map((i) => m.exec.tasks[i]!)).toEqual([{ name: 'infer.triage', criticality: 'low', budgetUs: 2000 }]);
  });

  it('reads an anomaly section (with or without triage), and requires its task in a slot', () => {
    const anomaly = { model: 'anomaly.tflite', channel: 'adcs.magX', downlink: 'ipn:100.15' };
    const m = parseMission('/missions/m.json', mission({ anomaly }, [NODE_SLOT, ['infer.anomaly']]));
    expect(m.infer).toMatchObject({
      anomaly: { model: '/missions/anomaly.tflite', channel: 'adcs.magX', samplingS: 1, segmentLength: 250, budgetUs: 500, downlink: { node: 100, service: 15 }, lifetimeS: 86_400 },
    });
    expect(m.infer!.triage).toBeUndefined();
    expect(refusal(mission({ anomaly }, WITH_INFER))).toMatch(/got "infer\.triage"/);
    expect(refusal(mission({ anomaly: { ...anomaly, segmentLength: 4 } }, [NODE_SLOT, ['infer.anomaly']]))).toMatch(/infer\.anomaly\.segmentLength/);
    expect(refusal(mission({ anomaly: { channel: 'x', downlink: 'ipn:1.1' } }, [NODE_SLOT, ['infer.anomaly']]))).toMatch(/infer\.anomaly\.model/);
  });

  it('refuses unknown fields, bad thresholds, a downlink that is not ipn, and a missing triage section, naming the field', () => {
    expect(refusal(mission({ triage, modle: 'x' }))).toMatch(/infer\.modle: expected a known field/);
    expect(refusal(mission({ triage: { ...triage, expediteAbove: 0.2 } }))).toMatch(/infer\.triage\.expediteAbove: expected a number in \[0\.5, 1\]/);
    expect(refusal(mission({ triage: { ...triage, downlink: 'dtn://ground/images' } }))).toMatch(/infer\.triage\.downlink: expected an ipn EID/);
    expect(refusal(mission({ budgetUs: 10, triage }))).toMatch(/infer\.budgetUs: expected/);
    expect(refusal(mission({}))).toMatch(/infer: expected a triage or an anomaly section/);
  });

  it('refuses a node with an infer section whose schedule has no slot for infer.triage, and a slot for it without the section', () => {
    expect(refusal(mission({ triage }, [NODE_SLOT]))).toMatch(/infer\.triage/);
    expect(refusal({ node: { id: 5 }, exec: execOf(WITH_INFER) })).toMatch(/expected a known task \(.*\), got "infer\.triage"/);
  });
});
