// Who may hold a connection of this node's TCPCLv4 listener, so that no number of idle or
// hostile connections locks a configured neighbour out. Two separate pools:
//
// - Pending: accepted connections that have not completed SESS_INIT. Bounded per remote address
//   (a newcomer beyond the address's share is closed at once) and in all (a newcomer to a full
//   pool closes the oldest pending connection of the address holding the most, so one address
//   can only crowd out itself). A short contact-header deadline (the session's) keeps idle ones
//   from staying long. Pending connections never count against established sessions.
// - Sessions: passive sessions that completed SESS_INIT. A session whose SESS_INIT names a
//   configured neighbour takes that neighbour's reserved slot while it is free; every other one
//   takes one of `maxSessions` general slots, and beyond them gets SESS_TERM Busy.
//
// Node IDs are not authenticated (no TLS yet): a peer claiming a neighbour's node ID can take
// that neighbour's reserved slot, and no more than that one. Sessions this node opens itself
// (active) are not limited here: it opens them only to the neighbours it chose.

export interface AdmissionLimits {
  /** Passive sessions with nodes other than configured neighbours. */
  readonly maxSessions: number;
  /** Passive connections before SESS_INIT, from all addresses. */
  readonly maxPendingConnections: number;
  /** Passive connections before SESS_INIT from one remote address. */
  readonly maxPendingPerAddress: number;
}

export type Entry<C> =
  | { readonly admitted: false }
  /** `evict`: the pending connection to close to make room, when the pool was full. */
  | { readonly admitted: true; readonly evict?: C };

export type Slot = 'reserved' | 'general';

export class Admission<C> {
  /** Pending connections per address; each set in arrival order, oldest first. */
  private readonly pendingByAddress = new Map<string, Set<C>>();
  private readonly addressOf = new Map<C, string>();
  /** Neighbour node ID -> the session holding its reserved slot. */
  private readonly reserved = new Map<string, C>();
  private readonly general = new Set<C>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly neighbours: ReadonlySet<string>,
  ) {}

  get pending(): number {
    return this.addressOf.size;
  }

  get reservedInUse(): number {
    return this.reserved.size;
  }

  get generalInUse(): number {
    return this.general.size;
  }

  /** A new passive connection from `address`; admitted ones are pending until `leavePending`. */
  enter(connection: C, address: string): Entry<C> {
    const mine = this.pendingByAddress.get(address);
    if ((mine?.size ?? 0) >= this.limits.maxPendingPerAddress) return { admitted: false };
    const evict = this.pending >= this.limits.maxPendingConnections ? this.oldestOfLargest() : undefined;
    if (evict !== undefined) this.leavePending(evict);
    const set = mine ?? new Set<C>();
    set.add(connection);
    this.pendingByAddress.set(address, set);
    this.addressOf.set(connection, address);
    return evict === undefined ? { admitted: true } : { admitted: true, evict };
  }

  /** The connection completed SESS_INIT or closed. */
  leavePending(connection: C): void {
    const address = this.addressOf.get(connection);
    if (address === undefined) return;
    this.addressOf.delete(connection);
    const set = this.pendingByAddress.get(address)!;
    set.delete(connection);
    if (set.size === 0) this.pendingByAddress.delete(address);
  }

  /** At SESS_INIT: the slot the session with `nodeId` takes, or undefined (answer Busy). */
  claim(session: C, nodeId: string): Slot | undefined {
    if (this.neighbours.has(nodeId) && !this.reserved.has(nodeId)) {
      this.reserved.set(nodeId, session);
      return 'reserved';
    }
    if (this.general.size >= this.limits.maxSessions) return undefined;
    this.general.add(session);
    return 'general';
  }

  /** The session closed: its slot (if it held one) is free again. */
  release(session: C, nodeId: string | undefined): void {
    this.general.delete(session);
    if (nodeId !== undefined && this.reserved.get(nodeId) === session) this.reserved.delete(nodeId);
  }

  private oldestOfLargest(): C | undefined {
    let largest: Set<C> | undefined;
    for (const set of this.pendingByAddress.values()) {
      if (largest === undefined || set.size > largest.size) largest = set;
    }
    return largest?.values().next().value;
  }
}
