// Everything protected memory tells the ground: telemetry channels and events. Event ids are the
// ecc range 0x06xx above the core's 0x0601..0x060f. Each region and TMR bank also gets its own
// counters, named from regionChannels / tmrChannels.
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const ECC_CHANNELS = {
  scrubBytes: { name: 'ecc.scrub.bytes', type: 'u64', units: 'bytes', doc: 'Protected bytes scrubbed since start (data, not check bytes)' },
  scrubPasses: { name: 'ecc.scrub.passes', type: 'u64', units: 'passes', doc: 'Complete passes of the scrubber over every registered region' },
  scrubPeriodS: {
    name: 'ecc.scrub.periodS', type: 'f64', units: 's', yellow: { high: 600 },
    doc: 'Full scrub period that follows from the byte budget and the schedule of the current mode',
  },
  scrubLastPassS: { name: 'ecc.scrub.lastPassS', type: 'f64', units: 's', doc: 'Duration of the last complete scrub pass (frame deadlines)' },
  protectedBytes: { name: 'ecc.protectedBytes', type: 'u64', units: 'bytes', doc: 'Bytes held in registered protected regions' },
} as const satisfies Record<string, ChannelDef>;

/** Scrubbing of the bundle store's sealed segments (flight/dtn/store/scrub.ts). */
export const STORE_SCRUB_CHANNELS = {
  bytes: { name: 'ecc.store.bytes', type: 'u64', units: 'bytes', doc: 'Segment and parity bytes read by the store scrubber since start' },
  passes: { name: 'ecc.store.passes', type: 'u64', units: 'passes', doc: 'Complete passes of the store scrubber over the sealed segments' },
  parityWritten: { name: 'ecc.store.parityWritten', type: 'u64', units: 'segments', doc: 'Parity files made for sealed segments (new, or stale after a reopen)' },
  repaired: { name: 'ecc.store.repaired', type: 'u64', units: 'shards', yellow: { high: 0 }, doc: 'Damaged 16 KiB shards rebuilt from their stripe and written back' },
  unrepairable: { name: 'ecc.store.unrepairable', type: 'u32', units: 'stripes', red: { high: 0 }, doc: 'Stripes with more damaged shards than parity: their records are lost' },
} as const satisfies Record<string, ChannelDef>;

/** Counters of one protected region, `ecc.region.<name>.*`. */
export function regionChannels(region: string) {
  return {
    corrected: { name: `ecc.region.${region}.corrected`, type: 'u64', units: 'words', doc: 'Single-bit errors corrected (data or check bits), by reads and scrubs' },
    uncorrectable: {
      name: `ecc.region.${region}.uncorrectable`, type: 'u64', units: 'words', yellow: { high: 0 },
      doc: 'Words found with a double-bit or worse error, or in a block failing its CRC-32C',
    },
    crcMismatches: {
      name: `ecc.region.${region}.crcMismatches`, type: 'u32', units: 'blocks', yellow: { high: 0 },
      doc: 'Blocks whose CRC-32C failed with SEC-DED clean or "corrected": errors of three or more bits in a word',
    },
    reloads: { name: `ecc.region.${region}.reloads`, type: 'u32', units: 'reloads', yellow: { high: 0 }, doc: 'Reloads from the golden copy after an uncorrectable word' },
    lost: { name: `ecc.region.${region}.lost`, type: 'u32', units: 'events', red: { high: 0 }, doc: 'Uncorrectable errors that no golden copy could repair' },
  } as const satisfies Record<string, ChannelDef>;
}

/** Counters of one bank of TMR scalars, `ecc.tmr.<bank>.*`. */
export function tmrChannels(bank: string) {
  return {
    corrected: { name: `ecc.tmr.${bank}.corrected`, type: 'u64', units: 'copies', doc: 'TMR copies outvoted and repaired on read' },
    noMajority: { name: `ecc.tmr.${bank}.noMajority`, type: 'u32', units: 'reads', red: { high: 0 }, doc: 'TMR reads where all three copies differed' },
  } as const satisfies Record<string, ChannelDef>;
}

/**
 * Commands of protected memory (opcodes 0x06xx). ECC_INJECT is for HIL benches: it damages what
 * it names on purpose, so it takes k of n operators like any other critical command.
 */
export const ECC_COMMANDS = {
  inject: {
    name: 'ECC_INJECT', opcode: 0x0601, owner: 'ecc', criticality: 'critical',
    doc: 'Flips bits (SEU injection, for HIL benches) in a protected region, a TMR bank (tmr.<bank>) or a file of the bundle store (store/<file>); the scrubber and the store\'s checks must then find them',
    args: [
      { name: 'target', type: 'string', maxLength: 128, doc: 'A region (parameters, operator-keys, session-keys, schedule, contact-plan), tmr.<bank> (tmr.exec, tmr.cmd-replay) or store/<file>' },
      { name: 'pattern', type: 'enum', values: ['single', 'double', 'burst'], doc: 'single bit, two bits of one word, or 2..8 adjacent bits (memory only; a file takes single)' },
      { name: 'count', type: 'int', min: 1, max: 1000, units: 'upsets', doc: 'Upsets to inject, each in a word drawn at random' },
      { name: 'seed', type: 'int', min: 0, max: 0xffff_ffff, doc: 'Seed of the injector: the same seed flips the same bits' },
    ],
  },
} as const;

export const ECC_EVENTS = {
  uncorrectable: {
    id: 0x0610, name: 'ECC_UNCORRECTABLE', severity: 'error',
    format: 'Region {region}: {words} uncorrectable word(s) in block {block} ({kind}), found by {by}',
  },
  reloaded: {
    id: 0x0611, name: 'ECC_REGION_RELOADED', severity: 'warning',
    format: 'Region {region} reloaded from its golden copy ({symbols} RS symbols corrected in the file)',
  },
  reloadFailed: {
    id: 0x0612, name: 'ECC_RELOAD_FAILED', severity: 'error', throttle: 0,
    format: 'Region {region} cannot be reloaded: {reason}',
  },
  goSafe: {
    id: 0x0613, name: 'ECC_GO_SAFE', severity: 'fatal', throttle: 0,
    format: 'Critical region {region} lost: requesting SAFE',
  },
  goldenRepaired: {
    id: 0x0614, name: 'ECC_GOLDEN_REPAIRED', severity: 'warning',
    format: 'Golden copy of {region} had {symbols} damaged RS symbols: rewritten',
  },
  tmrCorrected: {
    id: 0x0615, name: 'ECC_TMR_CORRECTED', severity: 'activity',
    format: 'TMR scalar {cell}: copy {copy} outvoted and repaired',
  },
  tmrNoMajority: {
    id: 0x0616, name: 'ECC_TMR_NO_MAJORITY', severity: 'error', throttle: 0,
    format: 'TMR scalar {cell}: the three copies all differ',
  },
  storeRepaired: {
    id: 0x0618, name: 'ECC_STORE_REPAIRED', severity: 'warning',
    format: 'Store segment {segment}: {shards} damaged shard(s) of bytes [{start}, {end}) rebuilt from parity',
  },
  storeUnrepairable: {
    id: 0x0619, name: 'ECC_STORE_UNREPAIRABLE', severity: 'error', throttle: 0,
    format: 'Store segment {segment}: {shards} damaged shard(s) of bytes [{start}, {end}), more than parity rebuilds: records there are lost',
  },
  planRepaired: {
    id: 0x061a, name: 'ECC_PLAN_REPAIRED', severity: 'warning',
    format: 'Contact plan in use differed from its protected copy in {contacts} contact(s): repaired, route lists dropped',
  },
  injected: {
    id: 0x0617, name: 'ECC_INJECTED', severity: 'warning', throttle: 0,
    format: 'SEU injection by command: {count} {pattern} upset(s) in {target} (seed {seed})',
  },
} as const satisfies Record<string, EventDef>;
