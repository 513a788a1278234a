// Telemetry subsystem events. Event id ranges, one per subsystem, so ids never collide:
//   0x01xx exec   0x02xx tlm   0x03xx dtn   0x04xx cla   0x05xx cmd
//   0x06xx ecc    0x07xx infer 0x08xx route 0x09xx app
import type { EventDef } from './events.js';

export const TLM_EVENTS = {
  limitYellow: { id: 0x0201, name: 'TLM_LIMIT_YELLOW', severity: 'warning', format: '{channel} = {value} {units}: outside its yellow limits' },
  limitRed: { id: 0x0202, name: 'TLM_LIMIT_RED', severity: 'error', format: '{channel} = {value} {units}: outside its red limits' },
  limitNominal: { id: 0x0203, name: 'TLM_LIMIT_NOMINAL', severity: 'activity', format: '{channel} = {value} {units}: back within limits' },
} as const satisfies Record<string, EventDef>;
