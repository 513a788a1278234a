// The `cla.ltp` section: LTP over UDP, as ION's udplsi/udplso (port 1113, engine id = ipn node
// number, BP as client service 1). Neighbours over LTP are listed in `cla.neighbours` with
// "cla": "ltp" and the address of their LTP port.
//
//   "ltp": { "listen": "127.0.0.1:1113", "segmentBytes": 1024, "oneWayLightTimeMs": 10 }
import type { Fields } from '../../config/fields.js';
import { join } from '../../config/fields.js';
import { optionalInteger, parseListen, type Endpoint } from '../config.js';
import type { LtpSettings } from './session.js';

/** ION's LTP port (udplsi/udplso default). */
export const LTP_PORT = 1113;

/** Largest LTP segment (header included) in one UDP datagram: the largest IPv4 UDP payload. */
const MAX_UDP_SEGMENT = 65_507;

export interface LtpClaConfig extends LtpSettings {
  /** Always present: peers send their reports to the address they have configured for this engine. */
  readonly listen: Endpoint;
}

const FIELDS = ['listen', 'segmentBytes', 'oneWayLightTimeMs', 'marginMs', 'maxRetries', 'maxExportSessions', 'maxImportSessions', 'maxBlockBytes', 'sessionTimeoutMs'] as const;

/**
 * The engine's settings with ION-like defaults: 1024-byte segments (ION's usual span segment
 * size, well under an Ethernet MTU after headers), and timers for a near-Earth link.
 */
export function parseLtpSettings(f: Fields, o: Record<string, unknown>, field: string, maxSegment: number): LtpSettings {
  const int = (name: (typeof FIELDS)[number], fallback: number, min: number, max: number): number =>
    optionalInteger(f, o[name], join(field, name), fallback, min, max);
  return {
    // At least 64: room for a header with large SDNVs and still some data.
    segmentBytes: int('segmentBytes', Math.min(1024, maxSegment), 64, maxSegment),
    oneWayLightTimeMs: int('oneWayLightTimeMs', 50, 0, 3_600_000),
    marginMs: int('marginMs', 500, 1, 600_000),
    maxRetries: int('maxRetries', 10, 0, 1000),
    maxExportSessions: int('maxExportSessions', 8, 1, 4096),
    maxImportSessions: int('maxImportSessions', 64, 1, 65_536),
    maxBlockBytes: int('maxBlockBytes', 1 << 20, 1, 1 << 30),
    sessionTimeoutMs: int('sessionTimeoutMs', 60_000, 100, 86_400_000),
  };
}

export function parseLtpConfig(f: Fields, raw: unknown, field: string): LtpClaConfig {
  const o = f.object(raw, field, FIELDS);
  if (o.listen === false) f.fail(join(field, 'listen'), 'an address to listen on (an LTP engine receives the reports of its own blocks there)', false);
  const listen = parseListen(f, o.listen, join(field, 'listen'), LTP_PORT)!;
  return { listen, ...parseLtpSettings(f, o, field, MAX_UDP_SEGMENT) };
}
