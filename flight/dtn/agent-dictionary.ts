// Telemetry and events of the bundle agent (ids 0x0360-0x037f of dtn's range).
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const AGENT_CHANNELS = {
  received: { name: 'dtn.agent.received', type: 'u64', units: 'bundles', doc: 'Bundles handed in by convergence layers' },
  accepted: { name: 'dtn.agent.accepted', type: 'u64', units: 'bundles', doc: 'Bundles durable in the store and acknowledged' },
  duplicates: { name: 'dtn.agent.duplicates', type: 'u64', units: 'bundles', doc: 'Bundles already held or delivered: acknowledged, not stored again' },
  refusedFull: { name: 'dtn.agent.refusedFull', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Bundles refused because the store is full or the source over quota' },
  refusedNoRoute: { name: 'dtn.agent.refusedNoRoute', type: 'u64', units: 'bundles', doc: 'Bundles refused because no route or neighbour of this node leads to their destination' },
  queueFull: { name: 'dtn.agent.queueFull', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Bundles refused because the inbound queue was full (flood)' },
  inboundQueued: { name: 'dtn.agent.inboundQueued', type: 'u32', units: 'bundles', doc: 'Bundles waiting for the ingest task' },
  originated: { name: 'dtn.agent.originated', type: 'u64', units: 'bundles', doc: 'Bundles created by local services' },
  forwarded: { name: 'dtn.agent.forwarded', type: 'u64', units: 'bundles', doc: 'Bundles the next hop acknowledged' },
  forwardFailures: { name: 'dtn.agent.forwardFailures', type: 'u64', units: 'attempts', doc: 'Sends that failed and will be retried' },
  delivered: { name: 'dtn.agent.delivered', type: 'u64', units: 'bundles', doc: 'Bundles delivered to a local service' },
  deliveryFailures: { name: 'dtn.agent.deliveryFailures', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Local deliveries whose service failed' },
  noRoute: { name: 'dtn.agent.noRoute', type: 'u64', units: 'attempts', doc: 'Dispatch attempts with no next hop or no link to it' },
  expired: { name: 'dtn.agent.expired', type: 'u64', units: 'bundles', doc: 'Bundles deleted at the end of their lifetime' },
  bcbSealed: { name: 'dtn.bcb.sealed', type: 'u64', units: 'bundles', doc: 'Bundles sent to a session peer with the payload under a BCB this node added' },
  awaitingSession: { name: 'dtn.bcb.awaitingSession', type: 'u64', units: 'attempts', doc: 'Sends to a session peer held back until the session is made' },
  bcbClear: { name: 'dtn.bcb.clear', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Bundles to a session peer sent without a BCB: fragments, or a BIB over the payload and other blocks' },
  bcbUnopened: { name: 'dtn.bcb.unopened', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Sealed fragments a gateway forwarded unopened: their payload opens only whole' },
  readFaults: { name: 'dtn.agent.readFaults', type: 'u64', units: 'attempts', yellow: { high: 0 }, doc: 'Reads of a stored bundle that failed (not corruption) and will be retried with backoff' },
  pending: { name: 'dtn.agent.pending', type: 'u32', units: 'bundles', doc: 'Stored bundles waiting for a contact, a route or a service' },
  awaitingContact: { name: 'dtn.agent.awaitingContact', type: 'u32', units: 'bundles', doc: "Bundles routed by CGR waiting in a plan contact's outbound queue for it to open" },
  rerouted: { name: 'dtn.agent.rerouted', type: 'u64', units: 'bundles', doc: 'Bundles routed again because their contact closed before they left' },
  inFlight: { name: 'dtn.agent.inFlight', type: 'u32', units: 'bundles', doc: 'Bundles being sent or delivered now' },
} as const satisfies Record<string, ChannelDef>;

export const AGENT_EVENTS = {
  refused: { id: 0x0360, name: 'DTN_BUNDLE_REFUSED', severity: 'warning', format: 'Refused bundle from {peer}: {reason}' },
  forwardFailed: { id: 0x0361, name: 'DTN_FORWARD_FAILED', severity: 'warning', format: 'Sending {bundle} to node {nextHop} failed: {error}' },
  deliveryFailed: { id: 0x0362, name: 'DTN_DELIVERY_FAILED', severity: 'error', format: 'Service {service} failed on {bundle}: {error}' },
  expired: { id: 0x0363, name: 'DTN_BUNDLES_EXPIRED', severity: 'activity', format: '{count} bundle(s) reached the end of their lifetime' },
  storeFault: { id: 0x0364, name: 'DTN_STORE_FAULT', severity: 'error', format: 'Bundle store: {operation} failed: {error}' },
  recovered: { id: 0x0365, name: 'DTN_RECOVERED', severity: 'activity', format: 'Resumed {count} stored bundle(s) after start', throttle: 0 },
  dispatchFault: { id: 0x0366, name: 'DTN_DISPATCH_FAULT', severity: 'error', format: 'Dispatching {bundle} failed unexpectedly: {error}; it stays stored' },
  readFault: { id: 0x0367, name: 'DTN_READ_FAULT', severity: 'warning', format: 'Reading stored bundle {bundle} failed: {error}; retry {attempt} in {delayMs} ms' },
} as const satisfies Record<string, EventDef>;
