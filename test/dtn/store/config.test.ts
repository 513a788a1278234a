import { describe, expect, it } from 'vitest';
import { Fields } from '../../../flight/config/fields.js';
import { ConfigError } from '../../../flight/errors.js';
import { parseStoreConfig } from '../../../flight/dtn/store/config.js';
import { BundleStore } from '../../../flight/dtn/store/store.js';
import { createRootLogger } from '../../../flight/log.js';
import { TelemetryRegistry } from '../../../flight/tlm/channels.js';
import { EventLog } from '../../../flight/tlm/events.js';
import { tempDir } from './support.js';

const parse = (raw: unknown): ReturnType<typeof parseStoreConfig> => parseStoreConfig(new Fields('mission.json'), raw, 'store');

describe('store config', () => {
  it('fills in defaults, the quota defaulting to the capacity', () => {
    expect(parse({ capacityBytes: 1_000_000 })).toEqual({
      capacityBytes: 1_000_000, perSourceQuotaBytes: 1_000_000, segmentBytes: 16 * 1024 * 1024, maxBatchBytes: 1024 * 1024, commitDelayMs: 0, compactGarbageRatio: 0.5, reserveBytes: 256 * 1024, spareSegments: 0,
    });
  });

  it('names the file, field and expectation of a bad value', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'store.capacityBytes'],
      [{ capacityBytes: 100, perSourceQuotaBytes: 200 }, 'store.perSourceQuotaBytes'],
      [{ capacityBytes: 100, segmentBytes: 100 }, 'store.segmentBytes'],
      [{ capacityBytes: 100, commitDelayMs: -1 }, 'store.commitDelayMs'],
      [{ capacityBytes: 100, compactGarbageRatio: 0 }, 'store.compactGarbageRatio'],
      [{ capacityBytes: 100, reserveBytes: -1 }, 'store.reserveBytes'],
      [{ capacityBytes: 100, sizeLimit: 1 }, 'store.sizeLimit'],
      ['big', 'store'],
    ];
    for (const [raw, field] of cases) {
      let error: unknown;
      try {
        parse(raw);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as ConfigError).message).toMatch(/^mission\.json: /);
    }
  });

  it('checks BundleStore.open options with the same reader, before touching the disk', async () => {
    const log = createRootLogger({ level: 'silent' });
    await expect(BundleStore.open({ dir: tempDir(), capacityBytes: 0, log, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) }))
      .rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'store.capacityBytes' });
  });
});
