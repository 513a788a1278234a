// Operator keys: who may sign commands, with which roles. The mission config lists the first
// operators and k (the genesis); after that, keys change only by OPERATOR_ADD / REVOKE / ROTATE,
// critical commands that k operators signed.
//
// Integrity: CRC + signatures. The key store on disk is not a table of keys but the log of the
// signed key-change commands themselves (body bytes and the k approving signatures), in a
// CRC-32C record file with a backup copy. Loading replays the log from the genesis, verifying
// every change's signatures against the keys in force before it. The CRC catches storage
// corruption cheaply and selects the good copy; the signatures mean that a process able to write
// the data directory still cannot add a key. An HMAC chain would need a secret key on board
// beside the file it protects, which such a process could read; operator signatures need none.
import { Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RegionMaker } from '../ecc/node.js';
import type { ProtectedRegion } from '../ecc/region.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { checkArgs, type ArgValues } from './args.js';
import { CMD_COMMANDS, CMD_EVENTS } from './dictionary.js';
import { commandContext, decodeBody, hexId, keyId, type Signature } from './envelope.js';
import { CommandFailed, RevokedKey, UnknownOperator } from './errors.js';
import type { MlDsa } from './mldsa.js';
import { RecordFile } from './record-file.js';

export type Role = 'operate' | 'approve';
export const ROLE_SETS: Record<string, readonly Role[]> = {
  OPERATE: ['operate'],
  APPROVE: ['approve'],
  OPERATE_APPROVE: ['operate', 'approve'],
};

export interface OperatorSpec {
  readonly id: number;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly publicKey: Uint8Array;
}

export interface Operator {
  readonly id: number;
  readonly roles: ReadonlySet<Role>;
  readonly publicKey: Uint8Array;
  /** Hex of keyId(publicKey). */
  readonly keyId: string;
  readonly revoked: boolean;
}

interface KeyChangeRecord {
  readonly bodyBytes: Uint8Array;
  readonly signatures: readonly Signature[];
}

const FORMAT = 1;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const KEY_COMMANDS = new Set<number>([CMD_COMMANDS.operatorAdd.opcode, CMD_COMMANDS.operatorRevoke.opcode, CMD_COMMANDS.operatorRotate.opcode]);

export interface OperatorKeysOptions {
  dataDir: string;
  node: number;
  genesis: readonly OperatorSpec[];
  /** k of k-of-n. */
  approvalsRequired: number;
  dsa: MlDsa;
  events: EventLog;
  operatorsChannel: Channel;
  generationChannel: Channel;
  recoveries: Channel;
}

export const OPERATOR_KEYS_REGION = 'operator-keys';
/** Active operators a protected key table holds (ML-DSA-65 keys: 16 x 1952 B). */
export const OPERATOR_KEY_SLOTS = 16;

export class OperatorKeys {
  private readonly operators = new Map<number, Operator>();
  /** When protected: the active operators' public keys, one slot each, read on every verify. */
  private region: ProtectedRegion | undefined;
  private readonly keySlots = new Map<number, number>();
  private keyBytes = 0;
  /** Every key ever revoked or rotated out, by key id, with its operator. */
  private readonly revokedKeys = new Map<string, number>();
  private readonly log: KeyChangeRecord[] = [];
  private readonly file: RecordFile;
  private readonly genesisHash: Uint8Array;

  constructor(private readonly options: OperatorKeysOptions) {
    this.file = new RecordFile(join(options.dataDir, 'operators.rec'));
    this.genesisHash = genesisHash(options.genesis, options.approvalsRequired);
    this.loadGenesis();
    this.loadLog();
    this.publish();
  }

  get approvalsRequired(): number {
    return this.options.approvalsRequired;
  }

  /** The operator behind a signature; throws UnknownOperator or RevokedKey. */
  signer(signature: Signature): Operator {
    const operator = this.operators.get(signature.operator);
    const id = hexId(signature.keyId);
    if (!operator) throw new UnknownOperator(signature.operator);
    if (operator.revoked || this.revokedKeys.get(id) === signature.operator) throw new RevokedKey(signature.operator, id);
    if (operator.keyId !== id) throw new UnknownOperator(signature.operator, `no key ${id}`);
    return operator;
  }

  /** Whether the key behind `signature` is its operator's current, unrevoked key (no verification). */
  current(signature: Signature): boolean {
    const operator = this.operators.get(signature.operator);
    return operator !== undefined && !operator.revoked && operator.keyId === hexId(signature.keyId);
  }

  /**
   * Whether `signature` is a valid ML-DSA signature of `bodyBytes` by its operator's key, under
   * the command context of `target` unless another is given (an uplinked file's, uplink-envelope.ts).
   */
  verify(signature: Signature, bodyBytes: Uint8Array, target: number, context = commandContext(target)): boolean {
    const operator = this.signer(signature);
    return this.options.dsa.verify(this.publicKey(operator), bodyBytes, signature.signature, context);
  }

  /**
   * Moves the active operators' public keys into a critical protected region: a flipped key bit
   * would refuse every command that operator signs (with k of n, possibly a lockout). From then on
   * verify() reads each key through the region, and key changes write and commit it.
   */
  protect(region: RegionMaker): void {
    const active = this.active();
    this.keyBytes = active[0]!.publicKey.length;
    const contents = new Uint8Array(OPERATOR_KEY_SLOTS * this.keyBytes);
    if (active.length > OPERATOR_KEY_SLOTS) throw new Error(`${active.length} operators: a protected key table holds ${OPERATOR_KEY_SLOTS}`);
    active.forEach((operator, slot) => {
      contents.set(this.checkedKey(operator.publicKey), slot * this.keyBytes);
      this.keySlots.set(operator.id, slot);
    });
    this.region = region(OPERATOR_KEYS_REGION, contents, true);
  }

  private publicKey(operator: Operator): Uint8Array {
    const slot = this.keySlots.get(operator.id);
    return this.region && slot !== undefined ? this.region.read(slot * this.keyBytes, this.keyBytes) : operator.publicKey;
  }

  private checkedKey(publicKey: Uint8Array): Uint8Array {
    if (publicKey.length !== this.keyBytes) throw new CommandFailed(`a public key of ${publicKey.length} bytes; the key table holds ${this.keyBytes}-byte keys`);
    return publicKey;
  }

  /** The protected table after a change: a revoked key's slot is cleared and freed, a new or rotated key written. */
  private protectChange(operator: Operator): void {
    const region = this.region!;
    const slot = this.keySlots.get(operator.id);
    if (operator.revoked) {
      region.write(slot! * this.keyBytes, new Uint8Array(this.keyBytes));
      this.keySlots.delete(operator.id);
    } else {
      const at = slot ?? this.freeKeySlot()!;
      region.write(at * this.keyBytes, operator.publicKey);
      this.keySlots.set(operator.id, at);
    }
    region.commit();
  }

  private freeKeySlot(): number | undefined {
    const used = new Set(this.keySlots.values());
    for (let slot = 0; slot < OPERATOR_KEY_SLOTS; slot++) if (!used.has(slot)) return slot;
    return undefined;
  }

  active(): Operator[] {
    return [...this.operators.values()].filter((o) => !o.revoked);
  }

  /**
   * Applies a key-change command the dispatcher authorized (k approvals verified): appends it to
   * the log, persists both copies, then changes the keys in memory. Throws CommandFailed if the
   * change is not allowed (it would leave fewer than k approvers, or reuse a key).
   */
  apply(opcode: number, args: ArgValues, authorization: KeyChangeRecord): string {
    const next = this.planChange(opcode, args);
    if (this.region) {
      if (!next.operator.revoked) this.checkedKey(next.operator.publicKey);
      if (!this.keySlots.has(next.operator.id) && this.freeKeySlot() === undefined) {
        throw new CommandFailed(`the protected key table holds ${OPERATOR_KEY_SLOTS} operators, all in use`);
      }
    }
    this.file.write(this.encodeLog([...this.log, authorization]));
    this.log.push(authorization);
    const change = this.commit(next);
    if (this.region) this.protectChange(next.operator);
    this.publish();
    this.options.events.emit(CMD_EVENTS.keysChanged, { operator: next.operator.id, change, generation: this.log.length });
    return change;
  }

  private loadGenesis(): void {
    for (const spec of this.options.genesis) {
      this.operators.set(spec.id, { id: spec.id, roles: new Set(spec.roles), publicKey: spec.publicKey, keyId: hexId(keyId(spec.publicKey)), revoked: false });
    }
  }

  private loadLog(): void {
    const { events } = this.options;
    const read = this.file.read((payload) => {
      const decoded = this.decodeLog(payload);
      return typeof decoded === 'string' ? decoded : undefined;
    });
    if (read.status === 'absent') return;
    if (read.status === 'lost') {
      events.emit(CMD_EVENTS.recordLost, { file: this.file.path, problem: read.problem, fallback: 'operator keys restart from the mission config' });
      return;
    }
    if (read.status === 'recovered') {
      this.options.recoveries.add();
      events.emit(CMD_EVENTS.recordRecovered, { file: this.file.path, problem: read.problem, from: read.from });
    }
    const log = this.decodeLog(read.payload) as { genesis: Uint8Array; entries: KeyChangeRecord[] };
    if (!Buffer.from(log.genesis).equals(Buffer.from(this.genesisHash))) {
      // The mission config is the root of trust: whoever changed it could change anything.
      events.emit(CMD_EVENTS.keysRegenesis, { dropped: log.entries.length });
      this.file.write(this.encodeLog([]));
      return;
    }
    for (const [i, entry] of log.entries.entries()) {
      const problem = this.replayEntry(entry);
      if (problem) {
        // A change that does not verify was not made by k operators: stop before it.
        events.emit(CMD_EVENTS.recordLost, { file: this.file.path, problem: `change ${i + 1}: ${problem}`, fallback: `kept the first ${i} change(s)` });
        this.file.write(this.encodeLog(this.log));
        return;
      }
    }
  }

  /** Verifies and applies one logged change; returns why it is refused, if it is. */
  private replayEntry(entry: KeyChangeRecord): string | undefined {
    try {
      const body = decodeBody(entry.bodyBytes);
      if (body.target !== this.options.node) return `addressed to node ${body.target}`;
      if (!KEY_COMMANDS.has(body.opcode)) return `opcode 0x${body.opcode.toString(16)} is not a key change`;
      const def = Object.values(CMD_COMMANDS).find((c) => c.opcode === body.opcode)!;
      const args = checkArgs(def.name, def.args, body.args);
      const approvers = new Set<number>();
      for (const signature of entry.signatures) {
        if (this.verify(signature, entry.bodyBytes, body.target) && this.signer(signature).roles.has('approve')) approvers.add(signature.operator);
      }
      if (approvers.size < this.options.approvalsRequired) return `${approvers.size} valid approvals, ${this.options.approvalsRequired} required`;
      this.commit(this.planChange(body.opcode, args));
      this.log.push(entry);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private planChange(opcode: number, args: ArgValues): { operator: Operator; retire?: string; change: string } {
    const id = args.operator as number;
    const current = this.operators.get(id);
    const checkNewKey = (publicKey: Uint8Array): string => {
      const kid = hexId(keyId(publicKey));
      if (this.revokedKeys.has(kid)) throw new CommandFailed(`key ${kid} was revoked; it cannot come back`);
      const holder = [...this.operators.values()].find((o) => o.keyId === kid && !o.revoked);
      if (holder) throw new CommandFailed(`key ${kid} already belongs to operator ${holder.id}`);
      return kid;
    };
    switch (opcode) {
      case CMD_COMMANDS.operatorAdd.opcode: {
        if (current && !current.revoked) throw new CommandFailed(`operator ${id} exists; rotate its key instead`);
        const publicKey = args.publicKey as Uint8Array;
        const roles = ROLE_SETS[args.roles as string]!;
        return { operator: { id, roles: new Set(roles), publicKey, keyId: checkNewKey(publicKey), revoked: false }, change: `added (${roles.join('+')})` };
      }
      case CMD_COMMANDS.operatorRevoke.opcode: {
        if (!current || current.revoked) throw new CommandFailed(`operator ${id} is not active`);
        const operator = { ...current, revoked: true };
        this.checkQuorum(operator);
        return { operator, retire: current.keyId, change: 'revoked' };
      }
      case CMD_COMMANDS.operatorRotate.opcode: {
        if (!current || current.revoked) throw new CommandFailed(`operator ${id} is not active`);
        const publicKey = args.publicKey as Uint8Array;
        return { operator: { ...current, publicKey, keyId: checkNewKey(publicKey) }, retire: current.keyId, change: `rotated to key ${hexId(keyId(publicKey))}` };
      }
      default:
        throw new Error(`opcode 0x${opcode.toString(16)} is not a key change`);
    }
  }

  /** Refuses a change that would leave fewer than k approvers or no one to originate commands. */
  private checkQuorum(changed: Operator): void {
    const after = this.active().filter((o) => o.id !== changed.id).concat(changed.revoked ? [] : [changed]);
    const approvers = after.filter((o) => o.roles.has('approve')).length;
    if (approvers < this.options.approvalsRequired) {
      throw new CommandFailed(`would leave ${approvers} approver(s), fewer than k=${this.options.approvalsRequired}: critical commands would be impossible`);
    }
    if (!after.some((o) => o.roles.has('operate'))) throw new CommandFailed('would leave no operator able to originate commands');
  }

  private commit(plan: { operator: Operator; retire?: string; change: string }): string {
    if (plan.retire) this.revokedKeys.set(plan.retire, plan.operator.id);
    this.operators.set(plan.operator.id, plan.operator);
    return plan.change;
  }

  private publish(): void {
    this.options.operatorsChannel.set(this.active().length);
    this.options.generationChannel.set(this.log.length);
  }

  private encodeLog(entries: readonly KeyChangeRecord[]): Uint8Array {
    return cbor.encode([
      FORMAT,
      this.genesisHash,
      entries.map((e) => [e.bodyBytes, e.signatures.map((s) => [s.operator, s.keyId, s.signature])]),
    ]);
  }

  private decodeLog(payload: Uint8Array): { genesis: Uint8Array; entries: KeyChangeRecord[] } | string {
    let record: unknown;
    try {
      record = cbor.decode(payload);
    } catch (error) {
      return `not CBOR (${(error as Error).message})`;
    }
    if (!Array.isArray(record) || record[0] !== FORMAT || !(record[1] instanceof Uint8Array) || !Array.isArray(record[2])) {
      return 'not an operator key log';
    }
    const entries: KeyChangeRecord[] = [];
    for (const entry of record[2] as unknown[]) {
      if (!Array.isArray(entry) || !(entry[0] instanceof Uint8Array) || !Array.isArray(entry[1])) return 'a malformed log entry';
      const signatures: Signature[] = [];
      for (const s of entry[1] as unknown[]) {
        if (!Array.isArray(s) || !Number.isSafeInteger(s[0]) || !(s[1] instanceof Uint8Array) || !(s[2] instanceof Uint8Array)) return 'a malformed signature';
        signatures.push({ operator: s[0] as number, keyId: s[1], signature: s[2] });
      }
      entries.push({ bodyBytes: entry[0], signatures });
    }
    return { genesis: record[1], entries };
  }
}

/** SHA-256 over k and the genesis operators, sorted: the log is valid only on top of these. */
function genesisHash(genesis: readonly OperatorSpec[], k: number): Uint8Array {
  const operators = [...genesis]
    .sort((a, b) => a.id - b.id)
    .map((o) => [o.id, [...o.roles].sort(), o.publicKey]);
  return new Uint8Array(createHash('sha256').update(cbor.encode([k, operators])).digest());
}
