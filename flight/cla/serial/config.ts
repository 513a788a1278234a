// The `cla.serial` section: one serial line (a radio's UART or a HIL bench) to one neighbour,
// listed in `cla.neighbours` with "cla": "serial". Bytes are CCSDS TM code blocks (ASM,
// randomised RS(255,223) with interleave I and virtual fill) carrying transfer frames of
// `frameBytes`, paced at `baud` (8N1: baud / 10 bytes a second). LTP runs inside; its settings
// are the same fields as `cla.ltp`'s, with defaults for a slow line.
//
//   "serial": { "device": "/dev/ttyS1", "baud": 115200, "flowControl": "none", "interleave": 4, "frameBytes": 892 }
import type { Fields } from '../../config/fields.js';
import { join } from '../../config/fields.js';
import { optionalInteger } from '../config.js';
import { parseLtpSettings } from '../ltp/config.js';
import type { LtpSettings } from '../ltp/session.js';

export const SERIAL_INTERLEAVE_DEPTHS = [1, 2, 3, 4, 5, 8] as const;
export type FlowControl = 'none' | 'rtscts' | 'xonxoff';

export interface SerialClaConfig extends LtpSettings {
  readonly device: string;
  readonly baud: number;
  readonly flowControl: FlowControl;
  /** RS interleaving depth I (CCSDS allows 1, 2, 3, 4, 5, 8). */
  readonly interleave: number;
  /** Transfer frame length: I x (223 - Q) for a virtual fill Q. */
  readonly frameBytes: number;
  /** CCSDS spacecraft id in the frame header; frames of another are dropped and counted. */
  readonly spacecraftId: number;
  /** Bit errors tolerated in the sync marker while searching for it. */
  readonly maxSyncErrors: number;
  /** No good frame for this long: the contact is down (LTP timers wait for it to return). */
  readonly lossOfSignalMs: number;
}

const FIELDS = [
  'device', 'baud', 'flowControl', 'interleave', 'frameBytes', 'spacecraftId', 'maxSyncErrors', 'lossOfSignalMs',
  'segmentBytes', 'oneWayLightTimeMs', 'marginMs', 'maxRetries', 'maxExportSessions', 'maxImportSessions', 'maxBlockBytes', 'sessionTimeoutMs',
] as const;

/** Seconds a code block of `frameBytes` takes on the line: what LTP's light time must cover. */
export function codeBlockSeconds(config: Pick<SerialClaConfig, 'baud' | 'interleave' | 'frameBytes'>): number {
  return (4 + config.frameBytes + 32 * config.interleave) * 10 / config.baud;
}

export function parseSerialConfig(f: Fields, raw: unknown, field: string): SerialClaConfig {
  const o = f.object(raw, field, FIELDS);
  const device = f.string(o.device, join(field, 'device'), /^\//); // absolute: /dev/ttyS1, a udev link, a test's pty link
  const baud = optionalInteger(f, o.baud, join(field, 'baud'), 115_200, 300, 12_000_000);
  const flowControl = o.flowControl === undefined ? 'none' : f.oneOf(o.flowControl, join(field, 'flowControl'), ['none', 'rtscts', 'xonxoff'] as const);
  const interleave = optionalInteger(f, o.interleave, join(field, 'interleave'), 4, 1, 8);
  if (!(SERIAL_INTERLEAVE_DEPTHS as readonly number[]).includes(interleave)) f.fail(join(field, 'interleave'), `one of ${SERIAL_INTERLEAVE_DEPTHS.join(', ')} (CCSDS 131.0-B)`, interleave);
  const frameBytes = optionalInteger(f, o.frameBytes, join(field, 'frameBytes'), 223 * interleave, 16, 223 * interleave);
  if (frameBytes % interleave !== 0) f.fail(join(field, 'frameBytes'), `a multiple of the interleave ${interleave} (I x (223 - Q))`, frameBytes);
  const line = { baud, interleave, frameBytes };
  // Light time on a wire is the queue: a report waits for the code block on the line and its own.
  const blockMs = Math.ceil(codeBlockSeconds(line) * 1000);
  const ltp = parseLtpSettings(f, { oneWayLightTimeMs: 3 * blockMs, marginMs: 1000, segmentBytes: 1024, ...o }, field, 65_000);
  return {
    device, baud, flowControl, interleave, frameBytes, ...ltp,
    spacecraftId: optionalInteger(f, o.spacecraftId, join(field, 'spacecraftId'), 0, 0, 1023),
    maxSyncErrors: optionalInteger(f, o.maxSyncErrors, join(field, 'maxSyncErrors'), 4, 0, 8),
    lossOfSignalMs: optionalInteger(f, o.lossOfSignalMs, join(field, 'lossOfSignalMs'), Math.max(1000, 20 * blockMs), 100, 600_000),
  };
}
