// Telemetry subsystem channels and events. Event id ranges, one per subsystem, so ids never collide:
//   0x01xx exec   0x02xx tlm   0x03xx dtn   0x04xx cla   0x05xx cmd
//   0x06xx ecc    0x07xx infer 0x08xx route 0x09xx app
import type { ChannelDef } from './channels.js';
import type { EventDef } from './events.js';

export const TLM_EVENTS = {
  limitYellow: { id: 0x0201, name: 'TLM_LIMIT_YELLOW', severity: 'warning', format: '{channel} = {value} {units}: outside its yellow limits' },
  limitRed: { id: 0x0202, name: 'TLM_LIMIT_RED', severity: 'error', format: '{channel} = {value} {units}: outside its red limits' },
  limitNominal: { id: 0x0203, name: 'TLM_LIMIT_NOMINAL', severity: 'activity', format: '{channel} = {value} {units}: back within limits' },
  downlinkFailed: { id: 0x0204, name: 'TLM_DOWNLINK_FAILED', severity: 'warning', format: '{items} downlink records not sent: {error}' },
} as const satisfies Record<string, EventDef>;

/**
 * Commands tlm owns, declared to commanding by the composition root (flight/app.ts), in the
 * 0x02xx opcode range. Typed where they are declared (cmd/commands.ts CommandDef): tlm does not
 * depend on cmd.
 */
export const TLM_COMMANDS = {
  clearThrottles: {
    name: 'CLEAR_EVENT_THROTTLES', opcode: 0x0201, owner: 'tlm', criticality: 'normal', args: [],
    doc: 'Re-arms every event throttle; answers with how many were holding events back',
  },
} as const;

/** The downlink of housekeeping, events and command responses to the ground endpoint. */
export const TLM_CHANNELS = {
  downlinkItems: { name: 'tlm.downlink.items', type: 'u64', units: 'items', doc: 'Records queued for the ground endpoint' },
  downlinkBundles: { name: 'tlm.downlink.bundles', type: 'u64', units: 'bundles', doc: 'Downlink bundles made durable for sending' },
  downlinkDropped: { name: 'tlm.downlink.dropped', type: 'u64', units: 'items', yellow: { high: 0 }, doc: 'Records dropped: downlink queue full or bundle not stored' },
} as const satisfies Record<string, ChannelDef>;
