// Every mission-config field a person may write, with its type, bounds, default and meaning: the
// one description from which `tern config reference` (flight/config/REFERENCE.md) and `tern config
// schema` (flight/config/mission.schema.json, which shipped configs name in "$schema") are made.
// The readers stay with their subsystems (dtn/config.ts, cla/config.ts, ...), which validate and
// apply these defaults; test/config/reference.test.ts keeps the two in step: every field here is
// one the readers take, every object here refuses an unknown field in both, and every shipped
// config passes both. A section marked `see` (infer) is described by its module only, for now.

export type Field =
  | { readonly type: 'integer' | 'number'; readonly min?: number; readonly max?: number; readonly default?: number | string; readonly doc: string }
  | { readonly type: 'string'; readonly enum?: readonly string[]; readonly pattern?: string; readonly default?: string; readonly doc: string }
  | { readonly type: 'boolean'; readonly default?: boolean; readonly doc: string }
  | { readonly type: 'endpoint'; readonly default?: string; readonly orFalse?: boolean; readonly doc: string }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, Field>>; readonly required?: readonly string[]; readonly doc: string }
  | { readonly type: 'map'; readonly key: 'node' | 'mode' | 'task' | 'route'; readonly value: Field; readonly doc: string }
  | { readonly type: 'array'; readonly items: Field; readonly doc: string }
  /** A section its own module describes; any object is passed on to that reader. */
  | { readonly type: 'see'; readonly module: string; readonly doc: string };

const budget = (doc: string, def: number): Field => ({ type: 'integer', min: 100, max: 1_000_000, default: def, doc });

const STORE: Field = {
  type: 'object',
  doc: 'The durable bundle store (flight/dtn/store).',
  fields: {
    capacityBytes: { type: 'integer', min: 1, default: 268435456, doc: 'Bytes of bundle records the store holds at most; past it a bundle may evict only bundles of a strictly lower priority class, else it is refused (status reason 4).' },
    perSourceQuotaBytes: { type: 'integer', min: 1, default: 'capacityBytes', doc: 'Bytes from one source EID at most; never evicts.' },
    segmentBytes: { type: 'integer', min: 4096, default: 16777216, doc: 'A segment file is sealed and a new one started past this size.' },
    maxBatchBytes: { type: 'integer', min: 1, max: 268435456, default: 1048576, doc: 'Most bytes written and fdatasync\'d as one group commit.' },
    commitDelayMs: { type: 'number', min: 0, max: 1000, default: 0, doc: 'How long a batch waits for company once it is not empty (0: only while the previous batch syncs).' },
    compactGarbageRatio: { type: 'number', min: 0.01, max: 1, default: 0.5, doc: 'A full segment is compacted once this share of its bytes is dead.' },
    reserveBytes: { type: 'integer', min: 0, max: 67108864, default: 262144, doc: 'Space kept aside so deletions and status reports can be written while the device is full.' },
    spareSegments: { type: 'integer', min: 0, max: 64, default: 0, doc: 'Segment-sized files written through once when the store is created and refilled by compaction, so that new segments overwrite blocks instead of appending (no journal commit per batch); each holds segmentBytes of disk.' },
  },
};

const AGENT: Field = {
  type: 'object',
  doc: 'The bundle agent\'s per-slot limits (flight/dtn/agent/limits.ts); each an integer in [1, 10^9].',
  fields: {
    inboundQueue: { type: 'integer', min: 1, max: 1e9, default: 256, doc: 'Received bundles waiting for ingest; more are refused (TCPCL XFER_REFUSE No Resources).' },
    ingestPerSlot: { type: 'integer', min: 1, max: 1e9, default: 64, doc: 'Bundles validated per dtn.ingest slot.' },
    dispatchPerSlot: { type: 'integer', min: 1, max: 1e9, default: 64, doc: 'Bundles routed or delivered per dtn.dispatch slot.' },
    inFlight: { type: 'integer', min: 1, max: 1e9, default: 64, doc: 'Forwards and deliveries under way at once.' },
    retryMs: { type: 'integer', min: 1, max: 1e9, default: 1000, doc: 'Wait before retrying a failed send, or a bundle for a local service nobody registered (it stays stored, retried, until its lifetime ends).' },
    limboMs: { type: 'integer', min: 1, max: 1e9, default: 30000, doc: 'Longest a bundle with no route now waits before it is routed again.' },
    hopLimit: { type: 'integer', min: 1, max: 1e9, default: 32, doc: 'Hop limit of the bundles this node creates.' },
    ingestBudgetUs: { type: 'integer', min: 1, max: 1e9, default: 4000, doc: 'Time budget of the dtn.ingest task.' },
    dispatchBudgetUs: { type: 'integer', min: 1, max: 1e9, default: 2000, doc: 'Time budget of the dtn.dispatch task.' },
    routeListsPerSlot: { type: 'integer', min: 1, max: 1e9, default: 1, doc: 'Contact Graph Routing route lists computed per dispatch slot at most.' },
  },
};

const TCP: Field = {
  type: 'object',
  doc: 'TCPCLv4 (RFC 9174): acknowledged transfers; a bundle leaves the sender\'s store only once the peer acknowledged it.',
  fields: {
    listen: { type: 'endpoint', default: '127.0.0.1:4556', orFalse: true, doc: 'Where passive sessions are accepted (false: active sessions only; port 0: any free port).' },
    keepaliveS: { type: 'integer', min: 0, max: 65535, default: 15, doc: 'Keepalive interval offered in SESS_INIT (0: none).' },
    segmentMru: { type: 'integer', min: 1, default: 1048576, doc: 'Largest XFER_SEGMENT this node accepts; bigger bundles come in several segments.' },
    transferMru: { type: 'integer', min: 1, default: 16777216, doc: 'Largest whole transfer (bundle) this node accepts; at least segmentMru.' },
    maxInboundPending: { type: 'integer', min: 1, max: 1024, default: 4, doc: 'Transfers of one session handed to the agent and not yet acknowledged.' },
    maxSessions: { type: 'integer', min: 1, max: 4096, default: 16, doc: 'Established passive sessions at most (configured neighbours keep a reserved slot).' },
    contactTimeoutMs: { type: 'integer', min: 100, default: 2000, doc: 'A passive connection must send its contact header within this.' },
    handshakeTimeoutMs: { type: 'integer', min: 100, max: 600000, default: 10000, doc: 'SESS_INIT must be exchanged within this.' },
    transferTimeoutMs: { type: 'integer', min: 100, max: 86400000, default: 60000, doc: 'An outbound transfer not acknowledged within this fails (the bundle stays stored).' },
    closeTimeoutMs: { type: 'integer', min: 100, max: 600000, default: 5000, doc: 'Wait for the peer\'s SESS_TERM before closing anyway.' },
    maxPendingConnections: { type: 'integer', min: 1, max: 65536, default: 256, doc: 'Connections accepted that have not completed SESS_INIT.' },
    maxPendingPerAddress: { type: 'integer', min: 1, default: 128, doc: 'Of those, from one address at most.' },
    tls: {
      type: 'object',
      doc: 'TLS 1.3 for TCPCLv4 (RFC 9174 4.4): CAN_TLS offered, certificates checked against the node ID a peer announces (`URI:ipn:N.0`). PEM files relative to the config file; `tern gse certs` makes them, `tern mission` on first start.',
      required: ['key', 'certificate', 'trustedCas'],
      fields: {
        key: { type: 'string', doc: 'This node\'s private key (PEM), owner-only.' },
        certificate: { type: 'string', doc: 'This node\'s certificate (PEM), naming it as a subjectAltName `URI:ipn:N.0`.' },
        trustedCas: { type: 'string', doc: 'The CA certificates a peer\'s certificate must chain to (PEM).' },
        required: { type: 'boolean', default: false, doc: 'Refuse every peer that does not offer TLS (otherwise such a session runs in plain TCP).' },
        requiredFor: { type: 'array', items: { type: 'integer', min: 1, doc: 'A node number.' }, doc: 'Nodes whose sessions must run inside TLS: one announcing `ipn:N.0` outside TLS is refused (a station requires it of its console\'s node, and takes its satellites plain).' },
      },
    },
  },
};

const UDP: Field = {
  type: 'object',
  doc: 'UDPCL: one bundle per datagram, as ION\'s udpcli/udpclo. No acknowledgements: a bundle is forwarded (and leaves the store) once the kernel took the datagram; use TCPCLv4 or LTP where loss matters.',
  fields: {
    listen: { type: 'endpoint', default: '127.0.0.1:4556', orFalse: true, doc: 'Where datagrams are received (false: send only).' },
    maxDatagramBytes: { type: 'integer', min: 1, max: 65507, default: 65507, doc: 'Largest datagram sent or taken; a bigger bundle is fragmented (RFC 9171 5.8) to fit.' },
    maxInboundPending: { type: 'integer', min: 1, max: 65536, default: 64, doc: 'Received datagrams handed to the agent and not yet taken.' },
  },
};

/** LTP engine settings, shared by cla.ltp and cla.serial (LTP runs inside the serial link). */
const ltpSettings = (defaults: { segmentBytes: number | string; oneWayLightTimeMs: number | string; marginMs: number }): Record<string, Field> => ({
  segmentBytes: { type: 'integer', min: 64, default: defaults.segmentBytes, doc: 'Largest LTP segment sent, header included (ION\'s span max segment size).' },
  oneWayLightTimeMs: { type: 'integer', min: 0, max: 3600000, default: defaults.oneWayLightTimeMs, doc: 'One-way light time to the peer, for the retransmission timers.' },
  marginMs: { type: 'integer', min: 1, max: 600000, default: defaults.marginMs, doc: 'Processing margin added to the round trip before a retransmission.' },
  maxRetries: { type: 'integer', min: 0, max: 1000, default: 10, doc: 'Retransmissions of a checkpoint or report before the session is cancelled.' },
  maxExportSessions: { type: 'integer', min: 1, max: 4096, default: 8, doc: 'Blocks being sent at once.' },
  maxImportSessions: { type: 'integer', min: 1, max: 65536, default: 64, doc: 'Blocks being received at once.' },
  maxBlockBytes: { type: 'integer', min: 1, max: 1073741824, default: 1048576, doc: 'Largest block (bundle) taken.' },
  sessionTimeoutMs: { type: 'integer', min: 100, max: 86400000, default: 60000, doc: 'A session with no progress for this long is cancelled.' },
});

const LTP: Field = {
  type: 'object',
  doc: 'LTP (RFC 5326) over UDP, as ION\'s udplsi/udplso: engine id = node number, BP as client service 1. Acknowledged (red part): use it where loss matters on a long or lossy link.',
  fields: {
    listen: { type: 'endpoint', default: '127.0.0.1:1113', doc: 'Where segments and reports are received (required to be an address: peers send reports there).' },
    ...ltpSettings({ segmentBytes: 1024, oneWayLightTimeMs: 50, marginMs: 500 }),
  },
};

const SERIAL: Field = {
  type: 'object',
  doc: 'One serial line to one neighbour: CCSDS TM code blocks (ASM, randomised RS(255,223), interleave I, virtual fill) carrying transfer frames, with LTP inside.',
  required: ['device'],
  fields: {
    device: { type: 'string', pattern: '^/', doc: 'The line\'s device, an absolute path (/dev/ttyS1, a udev link).' },
    baud: { type: 'integer', min: 300, max: 12000000, default: 115200, doc: 'Line rate, 8N1 (baud / 10 bytes a second).' },
    flowControl: { type: 'string', enum: ['none', 'rtscts', 'xonxoff'], default: 'none', doc: 'Flow control of the line.' },
    interleave: { type: 'integer', min: 1, max: 8, default: 4, doc: 'RS interleaving depth I: 1, 2, 3, 4, 5 or 8 (CCSDS 131.0-B).' },
    frameBytes: { type: 'integer', min: 16, default: '223 x interleave', doc: 'Transfer frame length, I x (223 - Q) for a virtual fill Q.' },
    spacecraftId: { type: 'integer', min: 0, max: 1023, default: 0, doc: 'CCSDS spacecraft id in the frame header; frames of another are dropped and counted.' },
    maxSyncErrors: { type: 'integer', min: 0, max: 8, default: 4, doc: 'Bit errors tolerated in the sync marker while searching for it.' },
    lossOfSignalMs: { type: 'integer', min: 100, max: 600000, default: 'max(1000, 20 code blocks)', doc: 'No good frame for this long: the contact is down.' },
    ...ltpSettings({ segmentBytes: 1024, oneWayLightTimeMs: '3 code blocks on the line', marginMs: 1000 }),
  },
};

const SCRUB: (doc: string, bytes: number, us: number) => Field = (doc, bytes, us) => ({
  type: 'object',
  doc,
  fields: {
    budgetBytes: { type: 'integer', min: 8, max: 1073741824, default: bytes, doc: 'Bytes checked per slot.' },
    budgetUs: { type: 'integer', min: 1, max: 1000000, default: us, doc: 'Time the task may use per slot.' },
  },
});

const OPERATOR: Field = {
  type: 'object',
  doc: 'An operator whose signed commands this node takes.',
  required: ['id', 'roles'],
  fields: {
    id: { type: 'integer', min: 1, max: 4294967295, doc: 'Operator id, as in the key file (tern gse keygen --id).' },
    name: { type: 'string', doc: 'A name for people.' },
    roles: { type: 'array', items: { type: 'string', enum: ['operate', 'approve'], doc: 'operate: originate commands; approve: co-sign critical ones.' }, doc: 'What the operator may do.' },
    publicKey: { type: 'string', doc: 'The ML-DSA-65 public key, base64 (or give publicKeyFile).' },
    publicKeyFile: { type: 'string', doc: 'A FILE.pub.json made by tern gse keygen, relative to the config file.' },
  },
};

const SESSION: Field = {
  type: 'object',
  doc: 'BPSec session keys with peer nodes (ML-KEM-768 handshakes signed with ML-DSA-65; payloads under BCB-AES-GCM).',
  required: ['identityKeyFile', 'peers'],
  fields: {
    identityKeyFile: { type: 'string', doc: 'This node\'s secret ML-DSA-65 identity key (mode 0600).' },
    peers: {
      type: 'array',
      doc: 'The nodes this node keeps session keys with.',
      items: {
        type: 'object',
        doc: 'A session peer.',
        required: ['node'],
        fields: {
          node: { type: 'integer', min: 1, doc: 'The peer\'s ipn node number.' },
          publicKey: { type: 'string', doc: 'Its identity public key, base64 (or publicKeyFile).' },
          publicKeyFile: { type: 'string', doc: 'Its identity FILE.pub.json.' },
          gatewayFor: { type: 'array', items: { type: 'integer', min: 1, doc: 'A node number.' }, doc: 'Nodes behind this peer: bundles for them are sealed for the peer, which opens them.' },
        },
      },
    },
    gatewayFor: { type: 'array', items: { type: 'integer', min: 1, doc: 'A node number.' }, doc: 'Nodes behind this node (a ground station for its console).' },
    rekeyS: { type: 'integer', min: 10, max: 2592000, default: 3600, doc: 'Keys are renewed after this long.' },
    rekeyBlocks: { type: 'integer', min: 1, max: 4294967280, default: 1000000, doc: '... or after this many sealed blocks.' },
    offerMaxAgeS: { type: 'integer', min: 1, max: 86400, default: 600, doc: 'An offer older than this is refused.' },
    offerRetryS: { type: 'integer', min: 1, max: 86400, default: 60, doc: 'An unanswered offer is sent again after this.' },
    handshakesPerMinute: { type: 'integer', min: 1, max: 6000, default: 30, doc: 'Handshakes answered per minute at most (a flood costs little).' },
  },
};

const MODE: Field = {
  type: 'object',
  doc: 'A mode\'s schedule table: a major frame of minor frames.',
  required: ['minorFrameMs', 'slots'],
  fields: {
    minorFrameMs: { type: 'number', min: 0.1, max: 60000, doc: 'Minor frame period; frame k starts at t0 + k * period.' },
    slots: {
      type: 'array',
      doc: 'One list of task names per minor frame (1 to 1000 frames); every task the node has must appear in some slot, and a slot\'s budgets must fit its frame.',
      items: { type: 'array', items: { type: 'string', doc: 'A task: tlm.housekeeping, dtn.store, dtn.ingest, dtn.dispatch, cmd.dispatch, cmd.sequence, ecc.scrub, infer.*.' }, doc: 'The tasks of one minor frame, in order.' },
    },
  },
};

/** The whole mission config: one JSON file per node. */
export const MISSION_CONFIG: Field = {
  type: 'object',
  doc: 'A Tern node\'s mission config. Unknown fields are refused; every error names the file, the field and what was expected.',
  required: ['node', 'exec'],
  fields: {
    $schema: { type: 'string', doc: 'The JSON Schema editors validate this file against (flight/config/mission.schema.json); the node ignores it.' },
    node: {
      type: 'object',
      doc: 'Who this node is.',
      required: ['id'],
      fields: {
        id: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, doc: 'The ipn node number (bundles for ipn:ID.* are this node\'s).' },
        name: { type: 'string', default: 'tern-ID', doc: 'A name for logs and the mission view.' },
      },
    },
    dataDir: { type: 'string', default: 'var/node-ID', doc: 'Where the store, keys, dictionary.json and housekeeping.json live; relative to the working directory.' },
    log: { type: 'object', doc: 'Logging (pino NDJSON on stdout).', fields: { level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info', doc: 'Least severe level logged.' } } },
    tlm: {
      type: 'object',
      doc: 'Telemetry.',
      fields: {
        summaryEveryMajorFrames: { type: 'integer', min: 1, max: 1000000, default: 10, doc: 'A health line is logged, and housekeeping.json replaced, every N major frames.' },
        downlink: {
          type: 'object',
          doc: 'Where responses, events and housekeeping go. Absent: nothing is sent down.',
          required: ['endpoint'],
          fields: {
            endpoint: { type: 'string', pattern: '^ipn:[0-9]+\\.[0-9]+$', doc: 'The ground endpoint, an ipn EID such as "ipn:100.2".' },
            housekeepingEvery: { type: 'integer', min: 1, max: 1000000, default: 10, doc: 'Every Nth housekeeping record (one per major frame) is sent.' },
            lifetimeS: { type: 'integer', min: 1, max: 2592000, default: 3600, doc: 'Lifetime of the telemetry bundles: one not delivered by then is deleted wherever it waits.' },
          },
        },
      },
    },
    dtn: {
      type: 'object',
      doc: 'Bundles (BPv7). Every bundle Tern creates carries a CRC-32C on every block (RFC 9171 allows CRC-16 X.25 too: Tern checks both when it receives).',
      fields: {
        store: STORE,
        agent: AGENT,
        keys: { type: 'string', doc: 'A JWK key set (RFC 9173 Appendix A form) for BIB-HMAC-SHA2 and BCB-AES-GCM.' },
        strictBlockNumbers: { type: 'boolean', default: false, doc: 'Refuse ION 4.1.3\'s fragments with extension blocks numbered 0 instead of renumbering them.' },
      },
    },
    cla: {
      type: 'object',
      doc: 'Convergence layers and the neighbours reached over them. Addresses are IP literals; listeners default to 127.0.0.1:4556.',
      fields: {
        udp: UDP,
        tcp: TCP,
        ltp: LTP,
        serial: SERIAL,
        neighbours: {
          type: 'map',
          key: 'node',
          doc: 'Neighbour node number -> how it is reached.',
          value: {
            type: 'object',
            doc: 'A neighbour.',
            required: ['cla'],
            fields: {
              cla: { type: 'string', enum: ['udp', 'tcp', 'ltp', 'serial'], doc: 'The layer, which must be configured above.' },
              address: { type: 'endpoint', doc: 'Its IP address and port (none for serial).' },
            },
          },
        },
      },
    },
    routes: {
      type: 'map',
      key: 'route',
      doc: 'Static routes: destination node (or "*", the default route) -> next-hop neighbour. A received bundle for a node no neighbour, route or contact plan leads to is refused (status reason 6).',
      value: { type: 'integer', min: 1, doc: 'The next hop.' },
    },
    contactPlan: {
      type: 'object',
      doc: 'Contact Graph Routing over a contact plan; routes then serve only the nodes the plan does not name (a console behind its station).',
      required: ['file'],
      fields: {
        file: { type: 'string', doc: 'The plan (ION ionrc lines, HDTN JSON or Tern JSON), relative to the config file.' },
        epoch: { type: 'string', doc: 'Plan time 0 on the node\'s clock: an ISO UTC time, or "mission-start" (the time tern mission started, shared by every node). Absent: the plan\'s own.' },
        timeScale: { type: 'integer', min: 1, max: 100000, default: 1, doc: 'Plan seconds per second: play the plan faster than real time.' },
      },
    },
    cmd: {
      type: 'object',
      doc: 'Commanding. Absent: the node takes no commands at all.',
      required: ['approvals', 'operators'],
      fields: {
        approvals: { type: 'integer', min: 1, max: 8, doc: 'k of k-of-n: signatures a critical command needs.' },
        operators: { type: 'array', items: OPERATOR, doc: 'Who may command this node.' },
        backend: { type: 'string', enum: ['auto', 'noble', 'node'], default: 'auto', doc: 'ML-DSA verification: auto picks node:crypto where the runtime has it (Node 24), else @noble/post-quantum.' },
        dispatch: {
          type: 'object',
          doc: 'The cmd.dispatch task.',
          fields: {
            budgetUs: budget('Time budget of cmd.dispatch.', 20000),
            queue: { type: 'integer', min: 1, max: 4096, default: 64, doc: 'Envelopes waiting for checks.' },
            envelopesPerSlot: { type: 'integer', min: 1, max: 1024, default: 16, doc: 'Envelopes taken per slot.' },
            verificationsPerSlot: { type: 'integer', min: 1, max: 64, default: 2, doc: 'ML-DSA verifications per slot.' },
            executionsPerSlot: { type: 'integer', min: 1, max: 64, default: 4, doc: 'Commands run per slot.' },
            pendingApprovals: { type: 'integer', min: 1, max: 256, default: 16, doc: 'Critical commands waiting for more signatures.' },
          },
        },
        sequence: {
          type: 'object',
          doc: 'The cmd.sequence task (stored command sequences).',
          fields: {
            budgetUs: budget('Time budget of cmd.sequence.', 5000),
            stepsPerSlot: { type: 'integer', min: 1, max: 64, default: 4, doc: 'Sequence steps run per slot.' },
          },
        },
        uplink: {
          type: 'object',
          doc: 'The file service (ipn:N.4): operator-signed files (models, contact plans) stored for activation by command.',
          fields: {
            incomingBytes: { type: 'integer', min: 1048576, max: 1099511627776, default: 67108864, doc: 'Bytes all incoming directories together hold at most (files uploaded and not yet activated; an activated file leaves at once). A new file past it drops the oldest never-activated ones (CMD_FILE_DROPPED); a file larger than this is refused (oversize).' },
          },
        },
        session: SESSION,
      },
    },
    ecc: {
      type: 'object',
      doc: 'Protected memory: critical state in EDAC-protected regions, scrubbed by ecc.scrub; the store\'s sealed segments checked by dtn.store.scrub (the schedule must list both).',
      fields: {
        scrub: SCRUB('The ecc.scrub task.', 16384, 1000),
        store: SCRUB('The dtn.store.scrub task (whole 288 KiB stripes, at least one).', 294912, 2000),
      },
    },
    infer: { type: 'see', module: 'flight/infer/config.ts', doc: 'Onboard inference: models, triage and anomaly tasks.' },
    exec: {
      type: 'object',
      doc: 'The cyclic executive\'s schedule tables.',
      required: ['modes'],
      fields: {
        initialMode: { type: 'string', default: 'BOOT', doc: 'The mode the node starts in.' },
        catchUpFrames: { type: 'integer', min: 0, max: 100, default: 2, doc: 'Frames run back to back to catch up after a lag.' },
        lagLimitFrames: { type: 'integer', min: 1, max: 100000, default: 10, doc: 'A lag beyond this many frames is skipped, counted as slips.' },
        safeAfterOverruns: { type: 'integer', min: 1, max: 1000, default: 3, doc: 'Consecutive overruns of a critical task that send the node to SAFE.' },
        shedMajorFrames: { type: 'integer', min: 1, max: 1000, default: 1, doc: 'Major frames low-criticality tasks are shed for after a shed-low overrun.' },
        modes: { type: 'map', key: 'mode', value: MODE, doc: 'Mode name (BOOT, NOMINAL and SAFE are required) -> its table.' },
        tasks: {
          type: 'map',
          key: 'task',
          doc: 'Task name -> its overrun policy and criticality.',
          value: {
            type: 'object',
            doc: 'A task\'s settings.',
            fields: {
              overrun: { type: 'string', enum: ['warn', 'skip-next', 'shed-low'], default: 'warn', doc: 'What an overrun of its budget does.' },
              criticality: { type: 'string', enum: ['critical', 'normal', 'low'], doc: 'Overrides the task\'s own.' },
            },
          },
        },
      },
    },
  },
};
