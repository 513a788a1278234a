// The command dispatcher, an executive task. Each slot it (1) drops critical commands whose
// approval window closed, (2) examines a bounded number of inbound envelopes, (3) runs a bounded
// number of accepted commands. Checks run cheapest first (shape, target, expiry, opcode,
// arguments, operator, replay) so junk costs microseconds; ML-DSA verification (milliseconds)
// runs only behind token buckets and a per-slot cap, so a flood of signed-looking envelopes
// cannot starve the frame: the excess is counted and dropped. Envelopes wait in one queue per
// source (source-queues.ts), sealed sources first, and each source may take only a share of the
// verifications: a flood from one source cannot starve the genuine commands of another. Every
// envelope ends in a counter and, rate limits allowing, a response record for the ground. What
// the commands leave of a slot (budget and verifications) goes to shared work (SlotShare: the
// file service's verification).
import type { Clock } from '../exec/clock.js';
import type { FrameInfo, Task } from '../exec/task.js';
import { TernError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { PendingApprovals, type PendingCommand } from './approvals.js';
import { checkArgs, type ArgValues } from './args.js';
import type { BoundCommand, CommandContext, CommandRegistry, CommandResult } from './commands.js';
import { CMD_CHANNELS, CMD_EVENTS, CMD_PARAMS, REJECT_CHANNEL } from './dictionary.js';
import { bodyDigest, decodeEnvelope, type Envelope, type Signature } from './envelope.js';
import {
  BadSignature, CommandRejected, EnvelopeOutOfBounds, Expired, LifetimeExceeded, MissingApprovals, NotAuthorized, QueueFull,
  RateLimited, UnknownOpcode, WrongTarget,
} from './errors.js';
import type { Operator, OperatorKeys } from './operators.js';
import type { ParameterStore } from './params.js';
import type { ReplayGuard } from './replay.js';
import { SourceQueues, type Origin } from './source-queues.js';
import { TokenBucket } from './token-bucket.js';

/**
 * The share of the verification rate (cmd.verifyPerSecond) one source may take: a flooding
 * source leaves the other half to the rest.
 */
const SOURCE_SHARE = 0.5;
/** The share of the task budget spent examining envelopes. */
const EXAMINE_SHARE = 0.5;

export type ResponseStatus = 'accepted' | 'pending' | 'rejected' | 'executed' | 'failed';

/** What the ground hears about a command. Fields unknown at the point of rejection are absent. */
export interface CommandResponse {
  readonly node: number;
  readonly status: ResponseStatus;
  readonly source: 'ground' | 'sequence';
  readonly timeMs: number;
  readonly operator?: number;
  readonly seq?: number;
  readonly opcode?: number;
  readonly command?: string;
  /** First 16 hex digits of SHA-256(body): names the command across its approvals. */
  readonly digest?: string;
  /** Reject or failure code (CMD_REPLAY, CMD_FAILED, ...). */
  readonly reason?: string;
  readonly detail?: string;
  readonly approvals?: { readonly have: number; readonly need: number; readonly untilMs: number };
  readonly result?: CommandResult;
  /** For sequence steps. */
  readonly slot?: number;
  readonly step?: number;
}

export type CmdChannels = { readonly [K in keyof typeof CMD_CHANNELS]: Channel };

export interface DispatcherLimits {
  /** Envelopes waiting for the dispatcher; more are dropped on arrival. */
  readonly queue: number;
  readonly envelopesPerSlot: number;
  readonly verificationsPerSlot: number;
  readonly executionsPerSlot: number;
  /** Critical commands held for approvals at once. */
  readonly pendingApprovals: number;
}

export interface DispatcherOptions {
  readonly node: number;
  readonly registry: CommandRegistry;
  readonly keys: OperatorKeys;
  readonly replay: ReplayGuard;
  readonly params: ParameterStore;
  readonly channels: CmdChannels;
  readonly events: EventLog;
  readonly log: Logger;
  /** Monotonic: rate limits. */
  readonly clock: Clock;
  /** Wall clock, Unix ms: expiry and approval windows. */
  readonly wallMs: () => number;
  readonly limits: DispatcherLimits;
  readonly budgetUs: number;
}

interface Accepted {
  readonly command: BoundCommand;
  readonly args: ArgValues;
  readonly context: CommandContext;
  readonly meta: Pick<CommandResponse, 'operator' | 'seq' | 'digest'>;
}

/**
 * Work that shares the dispatcher's slots after the commands (the file service's verification):
 * it runs until `untilUs` (monotonic) at most, takes at most `verifications` ML-DSA
 * verifications, and returns how many it took.
 */
export interface SlotShare {
  runSlot(untilUs: number, verifications: number): number;
}

/** Work left for a later slot: the verification cap of this slot is used up. */
const DEFER = Symbol('defer');

export class Dispatcher implements Task {
  readonly name = 'cmd.dispatch';
  readonly criticality = 'normal';
  readonly budgetUs: number;
  private readonly inbound: SourceQueues<Uint8Array>;
  /** Per source: at most CLEAR_QUEUES + 1 clear ones, and the session peers. */
  private readonly sourceBuckets = new Map<string, TokenBucket>();
  private readonly ready: Accepted[] = [];
  private readonly approvals: PendingApprovals;
  private readonly verifyBucket: TokenBucket;
  private readonly responseBucket: TokenBucket;
  private readonly listeners: Array<(response: CommandResponse) => void> = [];
  private readonly shares: SlotShare[] = [];
  private readonly ch: CmdChannels;
  private verificationsLeft = 0;

  constructor(private readonly o: DispatcherOptions) {
    this.budgetUs = o.budgetUs;
    this.ch = o.channels;
    this.approvals = new PendingApprovals(o.limits.pendingApprovals);
    this.inbound = new SourceQueues(o.limits.queue);
    const param = (name: string) => () => o.params.get(name);
    const nowMs = this.monotonicMs();
    this.verifyBucket = new TokenBucket(param(CMD_PARAMS.verifyPerSecond.name), param(CMD_PARAMS.verifyBurst.name), nowMs);
    this.responseBucket = new TokenBucket(param(CMD_PARAMS.responsesPerSecond.name), param(CMD_PARAMS.responsesPerSecond.name), nowMs);
  }

  /** Responses for the ground (the composition root sends them down as bundles). */
  onResponse(listener: (response: CommandResponse) => void): void {
    this.listeners.push(listener);
  }

  /** Gives `work` what is left of each slot's budget and verifications once the commands ran. */
  share(work: SlotShare): void {
    this.shares.push(work);
  }

  /**
   * Takes an envelope from the link (called between frames by the bundle agent), queued by its
   * origin. Returns false if this envelope was dropped because the queues are full (another
   * source's newest envelope may be dropped instead: its queue is longer).
   */
  submit(envelope: Uint8Array, origin: Origin = {}): boolean {
    this.ch.received.add();
    const dropped = this.inbound.push(envelope, origin);
    if (dropped) this.reject(new QueueFull('command queue', this.o.limits.queue), {});
    this.ch.queueDepth.set(this.inbound.size);
    return dropped !== envelope;
  }

  run(_frame: FrameInfo): void {
    const startUs = this.o.clock.nowUs();
    const nowMs = this.o.wallMs();
    for (const expired of this.approvals.expire(nowMs)) {
      const error = new MissingApprovals(expired.approvals.size, this.o.keys.approvalsRequired);
      this.o.events.emit(CMD_EVENTS.approvalExpired, { command: expired.command.def.name, digest: expired.digest.slice(0, 16), have: expired.approvals.size, need: this.o.keys.approvalsRequired });
      this.reject(error, this.meta(expired.body, expired.digest, expired.command));
    }
    this.ch.pendingApprovals.set(this.approvals.size);

    this.verificationsLeft = this.o.limits.verificationsPerSlot;
    // Checks are cheap, not free (a 16 KiB sequence upload is decoded to tell whether it is
    // critical): examining stops at half the budget, leaving the rest to execution.
    const examineUntilUs = this.o.clock.nowUs() + this.budgetUs * EXAMINE_SHARE;
    for (let n = 0; n < this.o.limits.envelopesPerSlot; n++) {
      if (n > 0 && this.o.clock.nowUs() >= examineUntilUs) break;
      const next = this.inbound.peek();
      if (!next || this.examine(next.item, next.source, nowMs) === DEFER) break;
      this.inbound.take();
    }
    this.ch.queueDepth.set(this.inbound.size);

    for (let n = 0; n < this.o.limits.executionsPerSlot && this.ready.length > 0; n++) {
      const next = this.ready.shift()!;
      this.execute(next.command, next.args, next.context, next.meta);
    }
    for (const work of this.shares) this.verificationsLeft -= work.runSlot(startUs + this.budgetUs, this.verificationsLeft);
  }

  /**
   * Runs a handler now and reports it (also used by the sequencer for its steps). Returns the
   * response so the caller can tell executed from failed.
   */
  execute(command: BoundCommand, args: ArgValues, context: CommandContext, meta: Partial<CommandResponse>): CommandResponse {
    const base = { ...meta, opcode: command.def.opcode, command: command.def.name, source: context.source };
    let result: CommandResult;
    try {
      result = command.binding.handler(args, context);
    } catch (error) {
      if (!(error instanceof TernError)) this.o.log.error({ err: error, command: command.def.name }, 'command handler threw an untyped error');
      return this.fail(command, context, meta, error as Error);
    }
    this.ch.executed.add();
    this.ch.lastOpcode.set(command.def.opcode);
    this.o.events.emit(CMD_EVENTS.executed, { command: command.def.name, operator: context.operator, seq: meta.seq ?? '-' });
    return this.respond({ ...base, status: 'executed', ...(result === undefined ? {} : { result }) });
  }

  /** Reports a command that could not run (its handler threw, or a sequence step lacked approvals). */
  fail(command: BoundCommand, context: CommandContext, meta: Partial<CommandResponse>, error: Error): CommandResponse {
    this.ch.failed.add();
    this.o.events.emit(CMD_EVENTS.failed, { command: command.def.name, operator: context.operator, error: error.message });
    return this.respond({
      ...meta, opcode: command.def.opcode, command: command.def.name, source: context.source, status: 'failed',
      reason: error instanceof TernError ? error.code : 'CMD_HANDLER_ERROR', detail: error.message,
    });
  }

  /** Zeroes the command counters (CLEAR_COUNTERS). Gauges and key counts are left alone. */
  clearCounters(): void {
    const gauges = new Set<Channel>([this.ch.queueDepth, this.ch.pendingApprovals, this.ch.backend, this.ch.operators, this.ch.keysGeneration, this.ch.seqRunning, this.ch.lastOpcode, this.ch.verifyLastUs]);
    for (const channel of Object.values(this.ch)) if (!gauges.has(channel)) channel.set(0);
    this.o.events.emit(CMD_EVENTS.countersCleared, {});
  }

  private monotonicMs(): number {
    return this.o.clock.nowUs() / 1000;
  }

  private meta(body: { operator: number; seq: number; opcode: number } | undefined, digest: string | undefined, command?: BoundCommand): Partial<CommandResponse> {
    return {
      ...(body ? { operator: body.operator, seq: body.seq, opcode: body.opcode } : {}),
      ...(digest ? { digest: digest.slice(0, 16) } : {}),
      ...(command ? { command: command.def.name } : {}),
    };
  }

  /** Checks one envelope; returns DEFER if it must wait for a later slot's verifications. */
  private examine(bytes: Uint8Array, source: string, nowMs: number): typeof DEFER | void {
    let envelope: Envelope | undefined;
    let digest: string | undefined;
    let command: BoundCommand | undefined;
    try {
      // A source past its share would be refused its verification: not even decoded (a flood
      // then costs a lookup per envelope, not a decode).
      if (!this.sourceBucket(source, this.monotonicMs()).has(this.monotonicMs())) throw new RateLimited(source);
      envelope = decodeEnvelope(bytes);
      const { body } = envelope;
      if (body.target !== this.o.node) throw new WrongTarget(body.target, this.o.node);
      if (nowMs >= body.expiryMs) throw new Expired(body.expiryMs, nowMs);
      const maxLifetimeS = this.o.params.get(CMD_PARAMS.maxLifetimeS.name);
      if (body.expiryMs > nowMs + maxLifetimeS * 1000) throw new LifetimeExceeded(body.expiryMs, maxLifetimeS);
      command = this.o.registry.lookup(body.opcode);
      if (!command) throw new UnknownOpcode(body.opcode);
      const args = checkArgs(command.def.name, command.def.args, body.args);
      digest = bodyDigest(envelope.bodyBytes);
      const pending = this.approvals.get(digest);
      const signers = envelope.signatures.map((signature) => ({ signature, operator: this.o.keys.signer(signature) }));
      if (!pending) {
        const originator = signers.find((s) => s.operator.id === body.operator);
        if (!originator) throw new BadSignature(body.operator, 'the originating operator did not sign');
        if (!originator.operator.roles.has('operate')) throw new NotAuthorized(body.operator, 'lacks the operate role');
        this.o.replay.check(body.operator, body.seq);
      }
      const critical = this.o.registry.isCritical(command, args);
      if (critical && !pending && this.approvals.full()) throw new QueueFull('approval table', this.approvals.capacity);
      const toVerify = signers.filter((s) => !pending?.approvals.has(s.operator.id));
      if (toVerify.length > this.verificationsLeft) {
        // Never deferred forever: a slot's cap always admits an envelope with the most signatures.
        if (this.verificationsLeft < this.o.limits.verificationsPerSlot) return DEFER;
      }
      if (toVerify.length > 0) {
        // The node's budget is spent: the envelope waits at the head of its queue, where it
        // keeps its place in the round. Its source's share is spent: it is dropped.
        const now = this.monotonicMs();
        // More signatures than the burst holds would wait for ever (cmd.verifyBurst was lowered).
        if (toVerify.length > this.o.params.get(CMD_PARAMS.verifyBurst.name)) throw new RateLimited(source);
        if (!this.verifyBucket.has(now, toVerify.length)) return DEFER;
        if (!this.sourceBucket(source, now).take(now, toVerify.length)) throw new RateLimited(source);
        this.verifyBucket.take(now, toVerify.length);
      }
      this.verificationsLeft -= toVerify.length;
      for (const { signature, operator } of toVerify) this.verifySignature(signature, operator, envelope);
      if (!pending) this.o.replay.commit(body.operator, body.seq);

      const context = (approvers: readonly number[], signatures: readonly Signature[]): CommandContext => ({
        operator: body.operator,
        approvers,
        source: 'ground',
        nowMs,
        authorization: { bodyBytes: envelope!.bodyBytes, signatures },
      });
      const meta = this.meta(body, digest, command);
      if (!critical) {
        // Approvers are recorded for normal commands too: a sequence upload keeps them for its steps.
        const approvers = toVerify.filter((s) => s.operator.roles.has('approve')).map((s) => s.operator.id);
        this.accept({ command, args, context: context(approvers, envelope.signatures), meta });
        return;
      }
      const approvals = new Map(pending?.approvals ?? []);
      // An approval given with a key revoked or rotated out since then no longer counts.
      for (const [id, signature] of approvals) if (!this.o.keys.current(signature)) approvals.delete(id);
      for (const { signature, operator } of toVerify) if (operator.roles.has('approve')) approvals.set(operator.id, signature);
      const need = this.o.keys.approvalsRequired;
      if (approvals.size >= need) {
        this.approvals.release(digest);
        this.ch.pendingApprovals.set(this.approvals.size);
        this.accept({ command, args, context: context([...approvals.keys()], [...approvals.values()]), meta });
        return;
      }
      const held: PendingCommand = pending
        ? { ...pending, approvals }
        : {
            digest, bodyBytes: envelope.bodyBytes, body, command, args, approvals,
            untilMs: Math.min(nowMs + this.o.params.get(CMD_PARAMS.approvalWindowS.name) * 1000, body.expiryMs),
          };
      this.approvals.release(digest);
      this.approvals.hold(held);
      this.ch.pendingApprovals.set(this.approvals.size);
      this.o.events.emit(CMD_EVENTS.approvalPending, {
        command: command.def.name, digest: digest.slice(0, 16), have: approvals.size, need, until: new Date(held.untilMs).toISOString(),
      });
      this.respond({ ...meta, status: 'pending', source: 'ground', approvals: { have: approvals.size, need, untilMs: held.untilMs } });
    } catch (error) {
      if (!(error instanceof CommandRejected)) throw error;
      this.reject(error, this.meta(envelope?.body, digest, command));
    }
  }

  private sourceBucket(source: string, nowMs: number): TokenBucket {
    let bucket = this.sourceBuckets.get(source);
    if (!bucket) {
      // The whole burst, so an envelope with every approval still passes; a share of the rate.
      const rate = () => this.o.params.get(CMD_PARAMS.verifyPerSecond.name) * SOURCE_SHARE;
      bucket = new TokenBucket(rate, () => this.o.params.get(CMD_PARAMS.verifyBurst.name), nowMs);
      this.sourceBuckets.set(source, bucket);
    }
    return bucket;
  }

  private verifySignature(signature: Signature, operator: Operator, envelope: Envelope): void {
    const start = this.o.clock.nowUs();
    const ok = this.o.keys.verify(signature, envelope.bodyBytes, envelope.body.target);
    this.ch.verifyLastUs.set(this.o.clock.nowUs() - start);
    this.ch.verifications.add();
    if (!ok) throw new BadSignature(operator.id);
  }

  private accept(accepted: Accepted): void {
    this.ch.accepted.add();
    this.respond({ ...accepted.meta, status: 'accepted', source: 'ground', command: accepted.command.def.name, opcode: accepted.command.def.opcode });
    this.ready.push(accepted);
  }

  private reject(error: CommandRejected, meta: Partial<CommandResponse>): void {
    this.ch.rejected.add();
    this.ch[REJECT_CHANNEL[error.code]].add();
    if (error instanceof EnvelopeOutOfBounds) this.ch.rejOutOfBounds.add();
    if (error.code === 'CMD_RATE_LIMITED' || error.code === 'CMD_QUEUE_FULL') {
      // Flood drops: counted, one throttled event, no response each (that would flood the downlink).
      this.o.events.emit(CMD_EVENTS.rateLimited, { dropped: this.ch.rejRateLimited.value + this.ch.rejQueueFull.value });
      return;
    }
    this.o.events.emit(CMD_EVENTS.rejected, { reason: error.code, detail: error.message });
    if (!this.responseBucket.take(this.monotonicMs())) {
      this.ch.responsesSuppressed.add();
      return;
    }
    this.respond({ ...meta, status: 'rejected', source: 'ground', reason: error.code, detail: error.message });
  }

  private respond(fields: Omit<CommandResponse, 'node' | 'timeMs'>): CommandResponse {
    const response: CommandResponse = { node: this.o.node, timeMs: this.o.wallMs(), ...fields };
    for (const listener of this.listeners) listener(response);
    return response;
  }
}

