// Composition root of one Tern node: builds the subsystems from the mission config, hands their
// tasks to the executive, and owns start-up and orderly shutdown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Neighbours, type Listening } from './cla/neighbours.js';
import { CLA_EVENTS } from './cla/dictionary.js';
import { setModeBinding } from './cmd/builtins.js';
import { Commanding } from './cmd/commanding.js';
import { CMD_EVENTS } from './cmd/dictionary.js';
import { CommandingAbsent } from './cmd/errors.js';
import { WorkerCrypto } from './cmd/handshake-crypto.js';
import { SessionsAbsent } from './cmd/session.js';
import { UPLINK_SERVICE } from './cmd/uplink.js';
import { writeDictionary } from './cmd/export.js';
import type { MissionConfig } from './config/mission.js';
import { STORE_UPKEEP_BUDGET_US } from './config/tasks.js';
import { CORE_EVENTS } from './core/dictionary.js';
import { ECC_COMMANDS, ECC_EVENTS } from './ecc/dictionary.js';
import { NodeProtection, type InjectArgs } from './ecc/node.js';
import { core } from './core/wasm.js';
import { AGENT_EVENTS } from './dtn/agent-dictionary.js';
import { BundleAgent, SERVICE } from './dtn/agent.js';
import { CreationClock } from './dtn/creation.js';
import { ipn } from './dtn/eid.js';
import { payloadBlock } from './dtn/bundle.js';
import { DTN_EVENTS } from './dtn/dictionary.js';
import { loadKeys } from './dtn/keys.js';
import { STORE_EVENTS } from './dtn/store/dictionary.js';
import { StoreMaintenanceTask } from './dtn/store/maintenance-task.js';
import { StoreScrubber, type LostRange } from './dtn/store/scrub.js';
import { BundleStore, storeDirectory } from './dtn/store/store.js';
import { writeFileDurable, writeFileDurableAsync } from './durable.js';
import { monotonicClock, VirtualClock, type Clock } from './exec/clock.js';
import { EXEC_COMMANDS, EXEC_EVENTS } from './exec/dictionary.js';
import { Executive } from './exec/executive.js';
import { FrameTimer } from './exec/frame-timer.js';
import { HealthMonitor } from './exec/health.js';
import { ANOMALY_EVENTS, INFER_EVENTS, TRIAGE_EVENTS } from './infer/dictionary.js';
import { InferNode } from './infer/node.js';
import { protectModels } from './infer/protection.js';
import { bindTasks } from './exec/schedule.js';
import type { Task } from './exec/task.js';
import { Watchdog, type NotifyEnv } from './exec/watchdog.js';
import { ConfigError } from './errors.js';
import { lockstepOnSerial, lockstepWallMs, type LockstepTimer } from './lockstep-node.js';
import { createRootLogger, subsystemLogger, type Logger } from './log.js';
import { CgrRouter } from './route/cgr-router.js';
import { protectPlan } from './route/plan-guard.js';
import { ROUTE_COMMANDS, ROUTE_EVENTS } from './route/dictionary.js';
import { ContactPlanError } from './route/errors.js';
import { PlanActivation } from './route/plan-activation.js';
import { PlanIntake } from './route/plan-load.js';
import { TelemetryRegistry } from './tlm/channels.js';
import { TLM_COMMANDS, TLM_EVENTS } from './tlm/dictionary.js';
import { Downlink } from './tlm/downlink.js';
import { EventLog, type EventDef } from './tlm/events.js';
import { HousekeepingTask } from './tlm/housekeeping.js';

export interface FlightNodeOptions {
  config: MissionConfig;
  /** Root logger; one is made from the config when absent. */
  log?: Logger;
  clock?: Clock;
  /** NOTIFY_SOCKET and WATCHDOG_USEC; the process environment when absent. */
  notifyEnv?: NotifyEnv;
  /** Frames run only when a HIL bench steps them over the serial line, on a virtual clock (flight/exec/lockstep.ts). */
  lockstep?: boolean;
}

export class FlightNode {
  readonly config: MissionConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly housekeeping: HousekeepingTask;
  readonly store: BundleStore;
  readonly agent: BundleAgent;
  readonly neighbours: Neighbours;
  readonly exec: Executive;
  /** Absent without a `cmd` config section: then every command bundle is refused. */
  readonly commanding: Commanding | undefined;
  /** Onboard inference (models, triage); absent without an `infer` config section. */
  readonly infer: InferNode | undefined;
  /** Absent without `tlm.downlink`. */
  readonly downlink: Downlink | undefined;
  /** Pings the work the node depends on; the watchdog is kicked only while all of it answers. */
  readonly health: HealthMonitor;
  /** Protected memory and its scrubber; absent without an `ecc` config section. */
  readonly protection: NodeProtection | undefined;
  /** Contact plans taken by command (ROUTE_PLAN_ACTIVATE); absent when the node routes by a static table. */
  readonly plans: PlanActivation | undefined;
  /** Where the convergence layers listen (port 0 in the config picks a free one). */
  listening: Listening = {};
  /** Drives the frames: the FrameTimer, or in lockstep the bench's steps. */
  private readonly timer: FrameTimer | LockstepTimer;
  /** Unix ms: Date.now, or in lockstep the epoch plus virtual time. */
  readonly wallMs: () => number;
  private readonly watchdog: Watchdog;
  /** The session handshake worker, when `cmd.session` is configured (health pings it). */
  private handshakeWorker: WorkerCrypto | undefined;
  private started = false;
  /** Bundles the links handed over that the agent has not taken yet. */
  private accepting = 0;
  /** The periodic housekeeping.json write under way, which the final one at stop waits for. */
  private housekeepingWrite: Promise<void> | undefined;

  /** Opens the bundle store (recovering it), builds the node and starts its frames. */
  static async start(options: FlightNodeOptions): Promise<FlightNode> {
    const { config } = options;
    const log = options.log ?? createRootLogger({ level: config.log.level, base: { node: config.node.id } });
    const clock = options.lockstep ? new VirtualClock() : options.clock ?? monotonicClock;
    const tlm = new TelemetryRegistry();
    const events = new EventLog(subsystemLogger(log, 'events'), () => clock.nowUs());
    core().bindTelemetry(tlm, events);
    mkdirSync(config.dataDir, { recursive: true });
    const store = await BundleStore.open({
      ...config.dtn.store,
      dir: storeDirectory(config.dataDir),
      log: subsystemLogger(log, 'store'),
      tlm,
      events,
      nowMs: () => clock.nowUs() / 1000,
    });
    let node: FlightNode | undefined;
    try {
      node = new FlightNode(options, log, clock, tlm, events, store);
      await node.run();
      return node;
    } catch (error) {
      // Whatever was built is closed, or a worker or socket would keep a failed node alive.
      if (node) await node.close();
      else await store.close();
      throw error;
    }
  }

  private constructor(options: FlightNodeOptions, log: Logger, clock: Clock, tlm: TelemetryRegistry, events: EventLog, store: BundleStore) {
    const { config } = options;
    this.config = config;
    this.log = log;
    this.clock = clock;
    this.tlm = tlm;
    this.events = events;
    this.store = store;
    // In lockstep nothing reads the wall clock: it is the epoch plus the virtual clock.
    this.wallMs = clock instanceof VirtualClock && options.lockstep ? lockstepWallMs(clock) : Date.now;
    this.health = new HealthMonitor(clock, tlm, events);
    this.housekeeping = new HousekeepingTask(tlm, events, {
      node: config.node.id,
      summaryEvery: config.tlm.summaryEveryMajorFrames,
      log: subsystemLogger(log, 'tlm'),
    });
    if (config.routes instanceof CgrRouter) config.routes.bindTelemetry(tlm);
    let agent: BundleAgent | undefined;
    // The agent is the convergence layers' sink, and they are its links: built in that order.
    this.neighbours = new Neighbours({
      config: config.cla,
      node: config.node.id,
      sink: {
        accept: (bytes, from) => {
          // Counted for lockstep, which runs frames only once every bundle arriving was taken.
          this.accepting++;
          return agent!.accept(bytes, from).finally(() => this.accepting--);
        },
      },
      onContact: () => agent!.sessionUp(),
      // With a contact plan, links exist only inside its contacts (a node outside the plan: always).
      // Sessions follow contact starts and ends within 100 ms (a mission may play the plan faster);
      // none is opened for the last 100 ms of a contact, which the next round would close.
      ...(config.contactPlan ? { inContact: (n: number) => config.routes.contactOpen(n, this.wallMs()) && config.routes.contactOpen(n, this.wallMs() + 100), retryMs: 100 } : {}),
      tlm,
      events,
      log: subsystemLogger(log, 'cla'),
    });
    this.agent = agent = new BundleAgent({
      node: config.node.id,
      store,
      router: config.routes,
      links: this.neighbours,
      tlm,
      events,
      log: subsystemLogger(log, 'dtn'),
      // In lockstep one bundle is sent at a time: concurrent store reads end in any order, and the
      // sessions (the bench's arrival order) would follow them.
      limits: options.lockstep ? { ...config.dtn.agent, inFlight: 1 } : config.dtn.agent,
      creation: CreationClock.persistent(join(config.dataDir, 'creation.seq'), this.wallMs),
      now: this.wallMs,
      strictBlockNumbers: config.dtn.strictBlockNumbers,
      // A bundle for a node no neighbour, route or contact plan of this node leads to, now or
      // later, is refused at once (status reason 6) rather than held for ever.
      reaches: (n) => config.cla.neighbours.some((x) => x.node === n) || config.routes.reaches(n) || this.neighbours.link(n) !== undefined,
      ...(config.dtn.keysFile ? { keys: loadKeys(config.dtn.keysFile) } : {}),
    });

    this.agent.registerEcho();
    // Store upkeep: the expiry backstop and bounded compaction, which reclaims deleted bytes.
    const storeUpkeep = new StoreMaintenanceTask(store, {
      budgetUs: STORE_UPKEEP_BUDGET_US,
      nowMs: () => this.wallMs() - this.agent.expiryBackstopMs(),
      onExpired: (bundles) => this.agent.expired(bundles),
      log: subsystemLogger(log, 'store'),
    });
    this.plans = this.buildPlanActivation();
    this.writeHousekeepingPeriodically();
    this.downlink = this.buildDownlink();
    this.protection = config.ecc && new NodeProtection({ core: core(), tlm, events, dir: join(config.dataDir, 'ecc'), config: config.ecc, storeDir: storeDirectory(config.dataDir) });
    if (this.protection && config.routes instanceof CgrRouter) protectPlan(config.routes, this.protection.region, this.events);
    this.infer = config.infer && new InferNode({
      config: config.infer, node: config.node.id, dataDir: config.dataDir, tlm, events, log: subsystemLogger(log, 'infer'), nowUs: () => clock.nowUs(),
      send: (out) => this.agent.send(out), register: (service, handler) => this.agent.register(service, handler),
    });
    if (this.protection && this.infer) protectModels(this.protection, this.infer.models, this.infer);
    this.commanding = this.buildCommanding();
    this.serveSessions();
    const tasks: Task[] = [this.housekeeping, storeUpkeep, ...this.agent.tasks(), ...(this.commanding?.tasks() ?? []), ...(this.infer?.tasks() ?? []), ...(this.protection ? [this.protection.scrubber, this.storeScrubber(config.ecc!.store)] : [])];
    const schedule = bindTasks(config.exec, tasks);
    this.exec = new Executive({ schedule, clock, tlm, events, ...(this.protection ? { state: this.protection.execState(schedule) } : {}) });
    this.protection?.attach(this.exec, schedule);
    this.timer = options.lockstep ? lockstepOnSerial({ exec: this.exec, clock: clock as VirtualClock, tlm, layers: this.neighbours.layers, health: this.health, store, downlink: this.downlink, accepting: () => this.accepting,
      // Bundles the agent is reading from the store to send or deliver (its published count).
      inFlight: () => tlm.get('dtn.agent.inFlight')!.value, log: subsystemLogger(log, 'exec'), file: config.file }) : new FrameTimer(this.exec, clock);
    // Every channel exists now (the executive's per-task ones, then lockstep's): the ground's dictionary.
    if (this.commanding) writeDictionary(config.dataDir, this.commanding.dictionary(tlm.all().map((c) => c.def), ALL_EVENTS));
    this.watchdog = new Watchdog(options.notifyEnv ?? (process.env as NotifyEnv), subsystemLogger(log, 'watchdog'));
    this.registerHealth();
    this.exec.onMajorFrame(() => {
      if (this.health.check()) this.watchdog.kick(clock.nowUs());
      // BOOT lasts one major frame: long enough for every subsystem's first slot to run.
      if (this.exec.modeName === 'BOOT') this.exec.requestMode('NOMINAL', 'boot complete');
    });
  }

  /**
   * What the node depends on beyond its frames: the store's flush path (a hung fdatasync) and the
   * session handshake worker. Deadlines are generous against a loaded machine and well inside
   * systemd's WatchdogSec, so only work that stopped answering stops the kicks.
   */
  private registerHealth(): void {
    const store = this.store;
    this.health.register({ name: 'dtn.store.flush', deadlineUs: 2_000_000, everyUs: 1_000_000, ping: () => store.flushed() });
    const worker = this.handshakeWorker;
    if (worker) this.health.register({ name: 'cmd.session.worker', deadlineUs: 2_000_000, everyUs: 1_000_000, ping: () => worker.ping() });
  }

  /**
   * With a contact plan: plans taken by command, and the one last activated (kept in the data
   * directory) in use again after a restart; if that one no longer validates, the config's plan stays.
   */
  private buildPlanActivation(): PlanActivation | undefined {
    const router = this.config.routes;
    if (!(router instanceof CgrRouter) || !router.ch) return undefined;
    const plans = new PlanActivation({
      node: this.config.node.id, router, events: this.events, file: join(this.config.dataDir, 'contact-plan'), incoming: join(this.config.dataDir, 'route', 'incoming'),
      intake: new PlanIntake(router.ch, this.events, this.config.contactPlan?.epochMs === undefined ? {} : { epochMs: this.config.contactPlan.epochMs }),
      replanned: () => this.agent.replanned(),
    });
    try {
      plans.restore();
    } catch (error) {
      if (!(error instanceof ContactPlanError)) throw error;
      this.log.error({ err: error }, 'activated contact plan refused at start; the config plan stays');
    }
    return plans;
  }

  /** Responses, events and every Nth housekeeping record go to the ground endpoint as bundles. */
  private buildDownlink(): Downlink | undefined {
    const settings = this.config.tlm.downlink;
    if (!settings) return undefined;
    const downlink = new Downlink({
      send: (payload) => this.agent.send({ destination: settings.endpoint, service: SERVICE.telemetry, payload, lifetimeMs: settings.lifetimeS * 1000 }),
      tlm: this.tlm,
      events: this.events,
    });
    const node = this.config.node.id;
    // Diagnostic events stay in the node's log: sending them down would spend the link on noise.
    this.events.onEvent((record) => {
      if (record.severity !== 'diagnostic') downlink.push({ kind: 'evt', record: { ...record, node } });
    });
    this.housekeeping.onRecord((record) => {
      if (record.seq % settings.housekeepingEvery === 0) downlink.push({ kind: 'hk', record });
    });
    return downlink;
  }

  /**
   * housekeeping.json, replaced whole (temporary file, rename) with each health line's record,
   * so `tern status` reads a running node's counters. Written between frames, never blocking one;
   * a record that comes while the last is still being written is skipped, not queued.
   */
  private writeHousekeepingPeriodically(): void {
    const file = join(this.config.dataDir, 'housekeeping.json');
    this.housekeeping.onSummary((record) => {
      if (this.housekeepingWrite || !this.started) return;
      this.housekeepingWrite = writeFileDurableAsync(file, Buffer.from(`${JSON.stringify(record)}\n`))
        .catch((error: unknown) => this.log.warn({ err: error }, 'housekeeping record not written'))
        .finally(() => (this.housekeepingWrite = undefined));
    });
  }

  /**
   * Parity, checks and repairs of the store's sealed segments (with an `ecc` section). Damaged
   * bundles in a stripe beyond repair are quarantined by the store: deleted with reason 8 through
   * its deletion listeners (the agent's status reporter), never delivered.
   */
  private storeScrubber(budgets: { budgetBytes: number; budgetUs: number }): StoreScrubber {
    const onUnrepairable = (lost: LostRange): void => {
      this.store.quarantine(lost).catch((error: unknown) => this.log.error({ err: error, ...lost }, 'damaged bundles not quarantined'));
    };
    const scrubber = new StoreScrubber({ dir: storeDirectory(this.config.dataDir), ...budgets, tlm: this.tlm, events: this.events, onUnrepairable });
    // Parity made as segments are written and sealed, not when the walk first meets them.
    this.store.onSegmentWritten((segment) => scrubber.segmentWritten(segment));
    return scrubber;
  }

  /**
   * Commanding with the handlers other subsystems own, fed by the command endpoint. Without a
   * `cmd` section the endpoint still exists and refuses every bundle (counted by the agent as a
   * failed delivery, with an event), so a command can never wait in the store for a later start.
   */
  private buildCommanding(): Commanding | undefined {
    const { config } = this;
    if (!config.cmd) {
      for (const service of [SERVICE.command, UPLINK_SERVICE]) {
        this.agent.register(service, () => {
          throw new CommandingAbsent(config.file);
        });
      }
      return undefined;
    }
    const commanding = new Commanding({
      node: config.node.id,
      dataDir: join(config.dataDir, 'cmd'),
      config: config.cmd,
      tlm: this.tlm,
      events: this.events,
      log: this.log,
      clock: this.clock,
      wallMs: this.wallMs,
      sendHandshake: (peer, wire, lifetimeMs) =>
        this.agent.send({ destination: ipn(peer, SERVICE.session), service: SERVICE.session, payload: wire, lifetimeMs }),
      handshakeCrypto: (dsa, seed) => (this.handshakeWorker = new WorkerCrypto(dsa, seed)),
      ...(this.protection ? { protection: this.protection } : {}),
    });
    // The executive is built from the tasks, commanding's among them: reached when a command runs.
    const exec = (): Executive => this.exec;
    commanding.bind('SET_MODE', setModeBinding({
      get modeName() {
        return exec().modeName;
      },
      requestMode: (mode, reason) => exec().requestMode(mode, reason),
    }));
    commanding.declare(EXEC_COMMANDS);
    commanding.bind(EXEC_COMMANDS.load.name, { handler: (args) => exec().addLoad(args.task as string, args.us as number, args.runs as number) });
    commanding.declare(TLM_COMMANDS);
    commanding.declare(ROUTE_COMMANDS);
    commanding.bind(ROUTE_COMMANDS.planActivate.name, {
      handler: (args) => {
        if (!this.plans) throw new ContactPlanError(config.file, 'contactPlan', 'a contactPlan section: this node routes by its static table');
        return this.plans.activate(args.sha256 as string);
      },
    });
    this.infer?.bindCommands(commanding);
    // Files for those commands: operator-signed, stored by SHA-256 in each kind's incoming directory.
    if (this.infer) commanding.uplink.accept('model', this.infer.uplinkKind());
    if (this.plans) commanding.uplink.accept('plan', this.plans.uplinkKind());
    this.agent.register(UPLINK_SERVICE, (bundle) => commanding.uplink.receive(payloadBlock(bundle).data).then(() => undefined));
    commanding.bind(TLM_COMMANDS.clearThrottles.name, { handler: () => ({ rearmed: this.events.resetThrottles() }) });
    const protection = this.protection;
    if (protection) {
      commanding.declare(ECC_COMMANDS);
      commanding.bind(ECC_COMMANDS.inject.name, { handler: (args) => protection.inject(args as unknown as InjectArgs) });
    }
    commanding.bind('LIST_BUNDLES', {
      handler: (args) => {
        const all = this.store.list();
        const offset = args.offset as number;
        const page = all.slice(offset, offset + (args.limit as number));
        return { total: all.length, offset, bundles: page.map((b) => ({ id: b.id, source: b.source, destination: b.destination, state: b.state, size: b.size })) };
      },
    });
    this.agent.register(SERVICE.command, (bundle, arrival) => {
      // A full queue is a reject the dispatcher counts and answers; the bundle is consumed either way.
      // Queued by how it came: the session peer that sealed it, else the source node it claims.
      const source = bundle.primary.source;
      commanding.submit(payloadBlock(bundle).data, { ...arrival, ...(source.scheme === 'ipn' ? { sourceNode: source.node } : {}) });
    });
    if (this.downlink) {
      const downlink = this.downlink;
      commanding.onResponse((record) => downlink.push({ kind: 'rsp', record }));
    }
    return commanding;
  }

  /**
   * BPSec session keys, when `cmd.session` is configured: handshakes arrive at the session
   * endpoint, and the agent seals bundles for the peers and opens theirs. Without it the endpoint
   * refuses every handshake (a failed delivery, counted), so none waits in the store.
   */
  private serveSessions(): void {
    const sessions = this.commanding?.sessions;
    if (!sessions) {
      const file = this.config.file;
      this.agent.register(SERVICE.session, () => {
        throw new SessionsAbsent(file);
      });
      return;
    }
    this.agent.protectWith(sessions);
    this.agent.register(SERVICE.session, (bundle) => sessions.receive(payloadBlock(bundle).data));
  }

  /**
   * Start-up finishes before frame 0: the links listen, and every component the node depends on
   * has answered a first ping (the handshake worker has loaded its code, the store's flush path
   * is open), so none of that lands in the first frames as slips. Only then is t0 taken.
   */
  private async run(): Promise<void> {
    this.listening = await this.neighbours.start().catch((error: unknown) => {
      throw listenError(this.config, error);
    });
    await this.health.ready();
    // In lockstep, what start-up sent (its events, then resume's) is stored before the bench can be
    // heard: the same bundles, queued in the same order, every run.
    if (!(this.timer instanceof FrameTimer)) await this.timer.quiet();
    this.agent.resume();
    if (!(this.timer instanceof FrameTimer)) await this.timer.quiet();
    this.started = true;
    this.timer.start();
    this.watchdog.ready();
    this.log.info(
      {
        name: this.config.node.name,
        config: this.config.file,
        dataDir: this.config.dataDir,
        mode: this.exec.modeName,
        lockstep: this.timer instanceof FrameTimer ? undefined : true,
        udp: this.listening.udp?.port,
        tcp: this.listening.tcp?.port,
        storedBundles: this.store.list().length,
      },
      'node started',
    );
  }

  /** Stops the frames, closes links and the store, and flushes state; safe to call twice. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.timer.stop();
    this.watchdog.stopping();
    await this.close();
    await this.housekeepingWrite;
    const final = this.housekeeping.record(this.tlm.get('exec.frames')!.value, this.exec.modeName);
    try {
      writeFileDurable(join(this.config.dataDir, 'housekeeping.json'), `${JSON.stringify(final)}\n`);
    } catch (error) {
      // A full device must not turn a clean stop into a crash: the record is only a summary.
      this.log.error({ err: error }, 'final housekeeping record not written');
    }
    this.log.info({ frames: this.tlm.get('exec.frames')?.value }, 'node stopped');
  }

  /** Closes what was built: downlink, links, commanding (its worker), the store. */
  private async close(): Promise<void> {
    await this.downlink?.close();
    await this.neighbours.stop();
    await this.commanding?.close();
    await this.store.close();
  }
}

/**
 * A listen address taken by another process is the config's to fix: one line naming the field
 * and the address, not a stack trace. TCP listens (syscall listen), UDP binds (syscall bind).
 */
function listenError(config: MissionConfig, error: unknown): unknown {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code !== 'EADDRINUSE' && e.code !== 'EADDRNOTAVAIL' && e.code !== 'EACCES') return error;
  const field = e.syscall === 'bind' ? 'cla.udp.listen' : 'cla.tcp.listen';
  return new ConfigError(config.file, field, 'an address this node may listen on', `${e.address}:${e.port} (${e.code})`);
}

/** Every event a node can emit, for its ground dictionary. */
const ALL_EVENTS: EventDef[] = [EXEC_EVENTS, TLM_EVENTS, CORE_EVENTS, DTN_EVENTS, STORE_EVENTS, AGENT_EVENTS, CLA_EVENTS, CMD_EVENTS, INFER_EVENTS, TRIAGE_EVENTS, ANOMALY_EVENTS, ROUTE_EVENTS, ECC_EVENTS]
  .flatMap((events) => Object.values(events) as EventDef[]);
