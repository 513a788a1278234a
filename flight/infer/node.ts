// Inference on a node: the model manager (active, previous, activation by critical command), the
// model kind of the file service (flight/cmd/uplink.ts stores operator-signed .tern files in
// infer/incoming for activation), and the triage service with its executive task. The composition root (flight/app.ts) gives it the agent's send and the
// command registry; everything else is built here from the `infer` config section.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRegistry } from '../cmd/commands.js';
import type { UplinkKind } from '../cmd/uplink.js';
import type { ServiceHandler } from '../dtn/agent/context.js';
import { SERVICE, type Outgoing } from '../dtn/agent.js';
import { BundleFlag, dtnNow, payloadBlock, type Bundle } from '../dtn/bundle.js';
import { ipn } from '../dtn/eid.js';
import type { Task } from '../exec/task.js';
import { createStatusReport } from '../dtn/status-report.js';
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { bindInferCommands, INFER_COMMANDS } from './commands.js';
import { AnomalyMonitor, type AnomalySegment } from './anomaly/monitor.js';
import { ANOMALY_TASK, INFER_SERVICE, INFER_TASK, type AnomalyConfig, type InferConfig } from './config.js';
import { channelsOnce, TRIAGE_CHANNELS, TRIAGE_EVENTS } from './dictionary.js';
import { InferInputError } from './errors.js';
import { isTern, modelDigest, writeTern } from './format.js';
import { InferenceCore } from '../core/wasm.js';
import { LoadedModel, planFromFile } from './model.js';
import { ModelManager } from './models.js';
import { measureWorkRate, type WeightsGuard } from './task.js';
import { TriageService, type TriageActions } from './triage.js';

export interface InferNodeOptions {
  readonly config: InferConfig;
  readonly node: number;
  /** The node's data directory: models in infer/models, uplinked files in infer/incoming. */
  readonly dataDir: string;
  readonly send: (out: Outgoing) => Promise<string>;
  readonly register: (service: number, handler: ServiceHandler) => void;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
  /** The executive's clock: the anomaly monitor's sample times. */
  readonly nowUs: () => number;
}

export class InferNode {
  readonly models: ModelManager;
  /** Where the file service stores uplinked models, named by their SHA-256. */
  readonly incoming: string;
  private triage: TriageService | undefined;
  /** The service built for the first model while it is verified, until it becomes active. */
  private candidate: TriageService | undefined;
  private workPerUs: number | undefined;
  private monitor: AnomalyMonitor | undefined;
  private weightsGuard: WeightsGuard | undefined;
  private readonly triageChannels;
  private readonly activated: Array<(sha256: string) => void> = [];

  constructor(private readonly o: InferNodeOptions) {
    this.incoming = join(o.dataDir, 'infer', 'incoming');
    this.triageChannels = channelsOnce(o.tlm, TRIAGE_CHANNELS);
    this.workPerUs = o.config.workPerUs;
    this.models = new ModelManager({ dir: join(o.dataDir, 'infer', 'models'), accept: (model) => this.accept(model) });
    this.models.bindTelemetry(o.tlm, o.events);
    this.models.onActivate((model) => this.use(model));
    mkdirSync(this.incoming, { recursive: true });
    if (!this.models.open() && o.config.model) this.bootstrap(o.config.model);
    if (o.config.triage) o.register(INFER_SERVICE.triage, this.handleImage);
    if (o.config.anomaly) this.monitor = this.anomalyMonitor(o.config.anomaly);
  }

  /** The executive tasks (config/tasks.ts lists the same): triage's inferences (idle while no
   *  model is active) and the anomaly monitor (idle without its model). */
  tasks(): Task[] {
    const { triage, anomaly } = this.o.config;
    return [
      ...(triage ? [{ name: INFER_TASK, criticality: 'low', budgetUs: this.o.config.budgetUs, run: (frame) => this.triage?.task.run(frame) }] satisfies Task[] : []),
      ...(anomaly ? [{ name: ANOMALY_TASK, criticality: 'low', budgetUs: anomaly.budgetUs, run: (frame) => this.monitor?.run(frame) }] satisfies Task[] : []),
    ];
  }

  /** Protected memory (protection.ts): each triage run first checks its model's weights, at the
   *  measured `bytesPerUs` derated as the work rate is. */
  checkWeightsBeforeRuns(checkOf: WeightsGuard['checkOf'], bytesPerUs: number): void {
    this.weightsGuard = { checkOf, bytesPerUs: bytesPerUs * this.o.config.derate };
    for (const service of [this.triage, this.candidate]) service?.task.checkWeights(this.weightsGuard);
  }

  /** The model kind of the file service: .tern files up to infer.maxModelBytes, stored in
   *  `incoming`, each removed there once activated (the model manager keeps its own copy); the
   *  active model's file is not for FILE_DELETE. */
  uplinkKind(): UplinkKind {
    return {
      dir: this.incoming, maxBytes: this.o.config.maxModelBytes, looksRight: isTern,
      onActivated: (listener) => this.activated.push(listener), active: () => this.models.active,
    };
  }

  /** Declares and binds INFER_ACTIVATE_MODEL and INFER_ROLLBACK_MODEL. */
  bindCommands(registry: Pick<CommandRegistry, 'declare' | 'bind'>): void {
    registry.declare(INFER_COMMANDS);
    bindInferCommands(registry, this.models, this.incoming, (sha256) => {
      for (const listener of this.activated) listener(sha256);
    });
  }

  /** The configured model when none was activated yet: imported to .tern and made active. */
  private bootstrap(file: string): void {
    let tern: Uint8Array;
    try {
      tern = writeTern(planFromFile(new Uint8Array(readFileSync(file))));
    } catch (error) {
      this.models.refuse(file, error);
      return;
    }
    try {
      this.models.activate(tern, modelDigest(tern), file);
    } catch {
      // Refused with its counter and event by the manager; the node runs without a model until one is activated.
    }
  }

  /** Checks a verified model before it becomes active: it must serve triage in the task's slots. */
  private accept(model: LoadedModel): void {
    if (!this.o.config.triage) return;
    // The work rate is measured once, on the first model: a few whole runs, before it is active.
    this.workPerUs ??= measureWorkRate(model) * this.o.config.derate;
    if (this.triage) this.triage.accept(model);
    else this.candidate = this.service(model);
  }

  private use(model: LoadedModel): void {
    if (!this.o.config.triage) return;
    if (this.triage) return this.triage.useModel(model);
    this.triage = this.candidate!;
    this.candidate = undefined;
    this.triage.bindTelemetry(this.o.tlm, this.o.events);
  }

  private service(model: LoadedModel): TriageService {
    const { config } = this.o;
    const service = new TriageService(model, { name: INFER_TASK, criticality: 'low', budgetUs: config.budgetUs, workPerUs: this.workPerUs!, queueLength: config.queueLength }, config.triage!, this.actions());
    if (this.weightsGuard) service.task.checkWeights(this.weightsGuard);
    return service;
  }

  /** Kept and expedited images go to the ground (expedited first); a dropped one gets the
   *  "deleted" status report its source asked for. */
  private actions(): TriageActions {
    const triage = this.o.config.triage!;
    const down = (bundle: Bundle, priority: 0 | 1 | 2) =>
      this.o.send({ destination: triage.downlink, service: INFER_SERVICE.triage, payload: payloadBlock(bundle).data, lifetimeMs: triage.lifetimeS * 1000, priority });
    return {
      expedite: async (bundle) => void (await down(bundle, 2)),
      keep: async (bundle) => void (await down(bundle, 1)),
      drop: async (bundle) => {
        const report = createStatusReport(bundle, ['deleted'], 0, { source: ipn(this.o.node, SERVICE.admin), now: dtnNow(), sequence: 0, lifetime: bundle.primary.lifetime });
        if (!report) return;
        await this.o.send({ destination: report.primary.destination, service: SERVICE.admin, payload: payloadBlock(report).data, lifetimeMs: bundle.primary.lifetime, flags: BundleFlag.adminRecord });
      },
    };
  }

  /** The anomaly model from its file, in a core of its own; refused (event, counter) it leaves the monitor idle. */
  private anomalyMonitor(config: AnomalyConfig): AnomalyMonitor | undefined {
    try {
      const model = new LoadedModel(new InferenceCore(), planFromFile(new Uint8Array(readFileSync(config.model))));
      return new AnomalyMonitor(model, {
        name: ANOMALY_TASK, criticality: 'low', budgetUs: config.budgetUs, channel: config.channel, samplingS: config.samplingS,
        segmentLength: config.segmentLength, nowUs: this.o.nowUs, tlm: this.o.tlm, events: this.o.events,
        onAnomaly: (segment) => this.sendSegment(config, segment),
      });
    } catch (error) {
      this.models.refuse(config.model, error);
      return undefined;
    }
  }

  /** An anomalous segment goes down first: JSON of its samples, expedited. */
  private sendSegment(config: AnomalyConfig, segment: AnomalySegment): void {
    const payload = new TextEncoder().encode(JSON.stringify(segment));
    this.o.send({ destination: config.downlink, service: INFER_SERVICE.anomaly, payload, lifetimeMs: config.lifetimeS * 1000, priority: 2 })
      .catch((error: unknown) => this.o.log.error({ err: error, channel: segment.channel }, 'anomalous segment not stored for downlink'));
  }

  private readonly handleImage: ServiceHandler = async (bundle, arrival) => {
    if (!this.triage) {
      const error = new InferInputError('triage', 'an active model', 'none');
      this.triageChannels.refused.add();
      this.o.events.emit(TRIAGE_EVENTS.refused, { bundle: `${bundle.primary.creationTime}.${bundle.primary.sequence}`, reason: error.message });
      throw error;
    }
    await this.triage.handle(bundle, arrival);
  };
}
