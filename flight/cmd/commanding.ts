// Commanding, assembled: the one object the composition root (flight/app.ts) builds. It owns the
// registry, parameters, operator keys, replay state, dispatcher and sequencer of one node, all
// persisted under the node's data directory. The root then binds the handlers other subsystems
// own (SET_MODE, LIST_BUNDLES, its own commands), schedules tasks(), feeds envelopes from
// command bundles to submit() and sends onResponse() records to the ground endpoint.
import { mkdirSync } from 'node:fs';
import type { NodeProtection } from '../ecc/node.js';
import type { Clock } from '../exec/clock.js';
import type { Task } from '../exec/task.js';
import { subsystemLogger, type Logger } from '../log.js';
import type { ChannelDef, TelemetryRegistry } from '../tlm/channels.js';
import type { EventDef, EventLog } from '../tlm/events.js';
import { builtinBindings } from './builtins.js';
import { CommandRegistry, type CommandBinding, type CommandDef } from './commands.js';
import type { CmdConfig } from './config.js';
import { CMD_CHANNELS, CMD_COMMANDS, CMD_EVENTS, CMD_PARAMS } from './dictionary.js';
import { Dispatcher, type CmdChannels, type CommandResponse } from './dispatcher.js';
import { buildDictionary, type Dictionary } from './export.js';
import { mlDsa, type MlDsa } from './mldsa.js';
import { OperatorKeys } from './operators.js';
import { ParameterStore, type ParamDef } from './params.js';
import { REPLAY_HEADS_CAPACITY, ReplayGuard } from './replay.js';
import { readKeyFile } from './keyfile.js';
import { Sequencer } from './sequence.js';
import { SessionKeys } from './session.js';
import type { Origin } from './source-queues.js';
import { WorkerCrypto, type HandshakeCrypto } from './handshake-crypto.js';
import { FileUplink } from './uplink.js';

export interface CommandingOptions {
  readonly node: number;
  readonly dataDir: string;
  readonly config: CmdConfig;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
  /** Monotonic clock (the executive's). */
  readonly clock: Clock;
  /** Wall clock, Unix ms; Date.now when absent. */
  readonly wallMs?: () => number;
  /** Parameters other subsystems declare, loaded with commanding's own. */
  readonly params?: ReadonlyArray<Readonly<Record<string, ParamDef>>>;
  /**
   * Sends a session handshake message to the session endpoint of node `peer` as a bundle; needed
   * when the config has a `session` section.
   */
  readonly sendHandshake?: (peer: number, wire: Uint8Array, lifetimeMs: number) => Promise<unknown>;
  /** Where the handshake's ML-KEM and ML-DSA run: a worker thread unless given (unit tests run them in-thread). */
  readonly handshakeCrypto?: (dsa: MlDsa, identitySeed: Uint8Array) => HandshakeCrypto;
  /** Protected memory for parameters, operator keys, session keys and replay window heads (flight/ecc). */
  readonly protection?: Pick<NodeProtection, 'region' | 'tmrBank'>;
}

export class Commanding {
  readonly registry = new CommandRegistry();
  readonly params: ParameterStore;
  readonly keys: OperatorKeys;
  readonly replay: ReplayGuard;
  readonly dispatcher: Dispatcher;
  readonly sequencer: Sequencer;
  readonly dsa: MlDsa;
  readonly channels: CmdChannels;
  /** BPSec session keys with the configured peers; absent without a `session` config. */
  readonly sessions: SessionKeys | undefined;
  /** Files signed by an operator, stored for activation by command (the root registers the kinds). */
  readonly uplink: FileUplink;
  private readonly events: EventLog;

  constructor(o: CommandingOptions) {
    mkdirSync(o.dataDir, { recursive: true });
    const wallMs = o.wallMs ?? Date.now;
    this.events = o.events;
    this.channels = o.tlm.defineAll(CMD_CHANNELS);
    this.registry.declare(CMD_COMMANDS);
    this.params = new ParameterStore(o.dataDir, o.events, this.channels.recordRecoveries);
    this.params.declare(CMD_PARAMS);
    for (const defs of o.params ?? []) this.params.declare(defs);
    this.params.load();
    this.dsa = mlDsa('ML-DSA-65', o.config.backend);
    this.channels.backend.set(CMD_CHANNELS.backend.labels.indexOf(this.dsa.backend));
    this.keys = new OperatorKeys({
      dataDir: o.dataDir,
      node: o.node,
      genesis: o.config.operators,
      approvalsRequired: o.config.approvals,
      dsa: this.dsa,
      events: o.events,
      operatorsChannel: this.channels.operators,
      generationChannel: this.channels.keysGeneration,
      recoveries: this.channels.recordRecoveries,
    });
    this.replay = new ReplayGuard(o.dataDir, o.events, this.channels.recordRecoveries);
    const { budgetUs, ...limits } = o.config.dispatch;
    this.dispatcher = new Dispatcher({
      node: o.node, registry: this.registry, keys: this.keys, replay: this.replay, params: this.params,
      channels: this.channels, events: o.events, log: subsystemLogger(o.log, 'cmd'), clock: o.clock, wallMs, limits, budgetUs,
    });
    this.sequencer = new Sequencer({
      dataDir: o.dataDir, registry: this.registry, dispatcher: this.dispatcher, params: this.params,
      approvalsRequired: () => this.keys.approvalsRequired, channels: this.channels, events: o.events, wallMs,
      stepsPerSlot: o.config.sequence.stepsPerSlot, budgetUs: o.config.sequence.budgetUs,
    });
    this.sessions = this.buildSessions(o, wallMs);
    this.uplink = new FileUplink({
      node: o.node, keys: this.keys, tlm: o.tlm, events: o.events, log: subsystemLogger(o.log, 'uplink'),
      perMinute: () => this.params.get(CMD_PARAMS.uplinkPerMinute.name), clock: o.clock,
      ...(o.config.uplink ? { incomingBytes: o.config.uplink.incomingBytes } : {}),
    });
    this.dispatcher.share(this.uplink);
    if (o.protection) {
      this.params.protect(o.protection.region);
      this.keys.protect(o.protection.region);
      this.replay.protect(o.protection.tmrBank('cmd-replay', REPLAY_HEADS_CAPACITY, true));
      this.sessions?.protect(o.protection.region);
    }
    const bindings: Record<string, CommandBinding> = { ...builtinBindings(this.dispatcher, this.params, this.keys), ...this.sequencer.bindings(), ...this.uplink.bindings() };
    for (const [name, binding] of Object.entries(bindings)) this.registry.bind(name, binding);
  }

  private buildSessions(o: CommandingOptions, wallMs: () => number): SessionKeys | undefined {
    const session = o.config.session;
    if (!session) return undefined;
    if (!o.sendHandshake) throw new Error('cmd.session is configured but no handshake transport was given (composition)');
    const log = subsystemLogger(o.log, 'session');
    return new SessionKeys({
      node: o.node,
      crypto: (o.handshakeCrypto ?? ((dsa, seed) => new WorkerCrypto(dsa, seed)))(this.dsa, readKeyFile(session.identityKeyFile, this.dsa).seed),
      peers: session.peers,
      gatewayFor: session.gatewayFor,
      dataDir: o.dataDir,
      wallMs,
      rekeyMs: session.rekeyS * 1000,
      rekeyBlocks: session.rekeyBlocks,
      offerMaxAgeMs: session.offerMaxAgeS * 1000,
      offerRetryMs: session.offerRetryS * 1000,
      handshakesPerMinute: session.handshakesPerMinute,
      send: o.sendHandshake,
      events: o.events,
      channels: {
        rekeys: this.channels.sessionRekeys,
        rekeyRequests: this.channels.sessionRekeyRequests,
        offers: this.channels.sessionOffers,
        rejected: this.channels.sessionRejected,
        rateLimited: this.channels.sessionRateLimited,
      },
      // An offer that cannot be made or stored is retried after offerRetryS: logged, not thrown.
      onError: (error) => log.error({ err: error }, 'session offer failed'),
    });
  }

  /** Declares another subsystem's commands (bind their handlers with bind()). */
  declare(defs: Readonly<Record<string, CommandDef>>): void {
    this.registry.declare(defs);
  }

  bind(name: string, binding: CommandBinding): void {
    this.registry.bind(name, binding);
  }

  /**
   * The dispatcher and sequencer tasks, once every declared command has a handler (stored
   * sequences are validated against the complete dictionary here).
   */
  tasks(): Task[] {
    const unbound = this.registry.unbound();
    if (unbound.length > 0) throw new Error(`commands without a handler: ${unbound.join(', ')} (bind them at composition)`);
    this.sequencer.load();
    this.warmUp();
    this.events.emit(CMD_EVENTS.started, { operators: this.keys.active().length, k: this.keys.approvalsRequired, backend: this.dsa.backend });
    return [this.dispatcher, this.sequencer];
  }

  /**
   * Signs and verifies with a throwaway key a few times before the first frame: the first runs
   * compile the ML-DSA code (tens of milliseconds with noble), which must not land in a frame.
   */
  private warmUp(): void {
    const seed = new Uint8Array(32).fill(7);
    const publicKey = this.dsa.publicKey(seed);
    const message = new Uint8Array(64);
    const context = new TextEncoder().encode('tern-cmd-warm-up');
    for (let i = 0; i < 3; i++) this.dsa.verify(publicKey, message, this.dsa.sign(seed, message, context), context);
  }

  /** Stops what runs beside the frames (the session handshake's worker thread). */
  async close(): Promise<void> {
    await this.sessions?.close();
  }

  /** An envelope from a command bundle, queued by how it arrived; false if dropped (queues full). */
  submit(envelope: Uint8Array, origin?: Origin): boolean {
    return this.dispatcher.submit(envelope, origin);
  }

  onResponse(listener: (response: CommandResponse) => void): void {
    this.dispatcher.onResponse(listener);
  }

  /** The node's ground dictionary: these commands and parameters with the given channels and events. */
  dictionary(channels: readonly ChannelDef[], events: readonly EventDef[]): Dictionary {
    return buildDictionary({ commands: this.registry.all(), channels, events, parameters: this.params.all() });
  }
}
