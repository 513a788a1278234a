// Everything routing tells the ground: contact plans loaded and refused, and how CGR decides.
// Event ids 0x0801..0x08ff are route's (flight/tlm/dictionary.ts).
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const ROUTE_CHANNELS = {
  plansLoaded: { name: 'route.plansLoaded', type: 'u64', units: 'plans', doc: 'Contact plans validated and accepted' },
  plansRejected: { name: 'route.plansRejected', type: 'u64', units: 'plans', yellow: { high: 0 }, doc: 'Contact plans refused as invalid (the previous plan stays)' },
  planContacts: { name: 'route.planContacts', type: 'u32', units: 'contacts', doc: 'Contacts in the plan in use' },
  contactsOpen: { name: 'route.contactsOpen', type: 'u32', units: 'neighbours', doc: 'Neighbours this node has a plan contact with now (either way)' },
  decisions: { name: 'route.decisions', type: 'u64', units: 'bundles', doc: 'Bundles given a next hop and a contact by CGR' },
  noRoute: { name: 'route.noRoute', type: 'u64', units: 'bundles', doc: 'Route requests with no usable route (the bundle waits in limbo)' },
  routeLists: { name: 'route.routeLists', type: 'u64', units: 'lists', doc: 'Route lists computed (cache misses: plan change, a contact ended, first use)' },
  routesSkippedVolume: { name: 'route.routesSkippedVolume', type: 'u64', units: 'routes', doc: 'Routes passed over because a contact on them had too little residual volume' },
} as const satisfies Record<string, ChannelDef>;

/**
 * Opcodes 0x08xx. Typed where they are declared (cmd/commands.ts CommandDef): route does not
 * import cmd. A plan replaces how every bundle is routed, so k of n operators approve it.
 */
export const ROUTE_COMMANDS = {
  planActivate: {
    name: 'ROUTE_PLAN_ACTIVATE', opcode: 0x0802, owner: 'route', criticality: 'critical',
    doc: 'Validates a contact plan uplinked as a file (tern gse upload --kind plan) and makes it the node\'s plan; a bad one leaves the old plan in use',
    args: [{ name: 'sha256', type: 'string', maxLength: 64, doc: 'SHA-256 of the uplinked plan file (tern gse upload prints it): what the approvers sign' }],
  },
} as const;

export const ROUTE_EVENTS = {
  planLoaded: { id: 0x0801, name: 'ROUTE_PLAN_LOADED', severity: 'activity', format: 'contact plan {source} loaded: {contacts} contacts between {nodes} nodes' },
  planRejected: { id: 0x0802, name: 'ROUTE_PLAN_REJECTED', severity: 'warning', format: 'contact plan refused: {error}' },
  planActivated: { id: 0x0803, name: 'ROUTE_PLAN_ACTIVATED', severity: 'activity', format: 'contact plan of {contacts} contacts in use from now; bundles routed again' },
  // Never throttled: the plan bounds how many there are, and the console and the mission view name the neighbour from them.
  contactStarted: { id: 0x0804, name: 'ROUTE_CONTACT_STARTED', severity: 'activity', format: 'contact with node {neighbour} started ({waiting} bundles queued for it)', throttle: 0 },
  contactEnded: { id: 0x0805, name: 'ROUTE_CONTACT_ENDED', severity: 'activity', format: 'contact with node {neighbour} ended', throttle: 0 },
} as const satisfies Record<string, EventDef>;
