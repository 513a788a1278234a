// Everything the WASM core's coding functions tell the ground. The core counts only after
// Core.bindTelemetry(); event ids come from the ecc range (0x06xx), 0x0601..0x060f.
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const CORE_CHANNELS = {
  rsCodewords: { name: 'core.rsCodewords', type: 'u64', units: 'codewords', doc: 'Reed-Solomon codewords decoded' },
  rsCorrectedSymbols: { name: 'core.rsCorrectedSymbols', type: 'u64', units: 'symbols', doc: 'Reed-Solomon symbols corrected' },
  rsUncorrectable: { name: 'core.rsUncorrectable', type: 'u64', units: 'codewords', doc: 'Reed-Solomon codewords found uncorrectable (left as received)' },
  erasureRebuilds: { name: 'core.erasureRebuilds', type: 'u64', units: 'shards', doc: 'Erasure-code shards rebuilt from the others' },
  edacCorrected: { name: 'core.edacCorrected', type: 'u64', units: 'bits', doc: 'Single-bit errors corrected by SEC-DED (data or check bits)' },
  edacUncorrectable: {
    name: 'core.edacUncorrectable', type: 'u64', units: 'words', yellow: { high: 0 },
    doc: 'Words with a detected double-bit (or worse) error, not corrected',
  },
} as const satisfies Record<string, ChannelDef>;

export const CORE_EVENTS = {
  rsUncorrectable: {
    id: 0x0601, name: 'CORE_RS_UNCORRECTABLE', severity: 'warning',
    format: '{count} of {codewords} Reed-Solomon codewords uncorrectable ({basis} basis, I={interleave}, Q={fill})',
  },
  edacUncorrectable: {
    id: 0x0602, name: 'CORE_EDAC_UNCORRECTABLE', severity: 'error',
    format: '{count} words with uncorrectable errors, the first at word {word} ({kind})',
  },
} as const satisfies Record<string, EventDef>;
