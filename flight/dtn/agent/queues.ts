// Where stored bundles wait between dispatches, one queue per priority class of each kind:
// ready (the next dtn.dispatch slot takes them), later (a retry due at a given time) and limbo
// (no route or link: untouched until a contact begins, or limboMs passed). Bundles whose read
// failed wait in `backoff`, in order of their due time (their delays differ). Bundles routed by
// CGR wait in the outbound queue of the plan contact they leave in (`held`), until it opens.
import type { ContactWindow } from '../../route/router.js';
import type { Channel } from '../../tlm/channels.js';
import { PRIORITIES, type Priority } from '../store/meta.js';

/** The outbound queue of one plan contact: its bundles go to `ready` (priority order) once it opens. */
interface ContactQueue {
  readonly nextHop: number;
  readonly window: ContactWindow;
  readonly bundles: Map<string, Priority>;
}

export class DispatchQueues {
  /** A Set keeps insertion order. */
  private readonly ready: Array<Set<string>> = PRIORITIES.map(() => new Set());
  /**
   * id -> time of the retry. Always appended with the same delay ahead, so each map is in time
   * order and a slot looks only at the retries that are due, however many bundles wait.
   */
  private readonly later: Array<Map<string, number>> = PRIORITIES.map(() => new Map());
  private readonly limbo: Array<Set<string>> = PRIORITIES.map(() => new Set());
  private limboSince = 0;
  /** Ascending by due time; few entries (reads that failed), so an ordered insert is cheap. */
  private readonly backoff: Array<{ id: string; priority: Priority; due: number }> = [];
  /** Contact queues by contact ("nextHop@openMs"), and the contact each held bundle waits for. */
  private readonly contacts = new Map<string, ContactQueue>();
  private readonly heldIn = new Map<string, string>();

  constructor(
    private readonly pending: Channel,
    private readonly awaitingContact?: Channel,
  ) {}

  /** Waits in the outbound queue of the contact to `nextHop` over `window`. */
  hold(id: string, priority: Priority, nextHop: number, window: ContactWindow): void {
    const key = `${nextHop}@${window.openMs}`;
    let queue = this.contacts.get(key);
    if (!queue) this.contacts.set(key, (queue = { nextHop, window, bundles: new Map() }));
    queue.bundles.set(id, priority);
    this.heldIn.set(id, key);
    this.publish();
  }

  /**
   * Per dispatch slot: a contact that opened, with a session to its next hop up (`sessionUp`),
   * hands its bundles to ready; so does one that closed (dispatch routes them again). Looks at
   * every contact with bundles queued: a handful at a time on a satellite.
   */
  sweepContacts(now: number, sessionUp: (node: number) => boolean): void {
    for (const [key, queue] of this.contacts) {
      const ended = now >= queue.window.closeMs;
      if (!ended && (now < queue.window.openMs || !sessionUp(queue.nextHop))) continue;
      this.contacts.delete(key);
      for (const [id, priority] of queue.bundles) {
        this.heldIn.delete(id);
        this.ready[PRIORITIES.indexOf(priority)]!.add(id);
      }
    }
    this.publish();
  }

  /** The plan changed: every bundle held for a contact is ready to be routed again. */
  releaseContacts(): void {
    for (const queue of this.contacts.values()) {
      for (const [id, priority] of queue.bundles) this.ready[PRIORITIES.indexOf(priority)]!.add(id);
    }
    this.contacts.clear();
    this.heldIn.clear();
    this.publish();
  }

  enqueue(id: string, priority: Priority): void {
    this.ready[PRIORITIES.indexOf(priority)]!.add(id);
    this.publish();
  }

  /** Due at `due`; the caller keeps the delay the same for every retry of a class (time order). */
  retryAt(id: string, priority: Priority, due: number): void {
    const waiting = this.later[PRIORITIES.indexOf(priority)]!;
    waiting.delete(id); // re-appended, so the map stays in time order
    waiting.set(id, due);
    this.publish();
  }

  /** Due at `due`, whatever the delays of the others. */
  backOff(id: string, priority: Priority, due: number): void {
    let at = this.backoff.length;
    while (at > 0 && this.backoff[at - 1]!.due > due) at--;
    this.backoff.splice(at, 0, { id, priority, due });
    this.publish();
  }

  park(id: string, priority: Priority): void {
    this.limbo[PRIORITIES.indexOf(priority)]!.add(id);
    this.publish();
  }

  /** A contact began: everything in limbo is ready again. */
  releaseLimbo(now: number): void {
    this.limbo.forEach((parked, p) => {
      for (const id of parked) this.ready[p]!.add(id);
      parked.clear();
    });
    this.limboSince = now;
  }

  limboAge(now: number): number {
    return now - this.limboSince;
  }

  /** Every retry is ready now (a service registered that bundles may wait for). */
  releaseLater(): void {
    this.later.forEach((waiting, p) => {
      for (const id of waiting.keys()) this.ready[p]!.add(id);
      waiting.clear();
    });
  }

  /**
   * Hands ready bundles to `start`, expedited first, then normal, then bulk (RFC 9171 leaves
   * the order to the node), while `hasRoom()`; the retries due by `now` join their class first.
   */
  drain(now: number, hasRoom: () => boolean, start: (id: string) => void): void {
    let due = 0;
    while (due < this.backoff.length && this.backoff[due]!.due <= now) due++;
    for (const { id, priority } of this.backoff.splice(0, due)) this.ready[PRIORITIES.indexOf(priority)]!.add(id);
    try {
      for (let p = PRIORITIES.length - 1; p >= 0; p--) {
        const queue = this.ready[p]!;
        const waiting = this.later[p]!;
        for (const [id, due] of waiting) {
          if (due > now) break;
          waiting.delete(id);
          queue.add(id);
        }
        for (const id of queue) {
          if (!hasRoom()) return;
          queue.delete(id);
          start(id);
        }
      }
    } finally {
      this.publish();
    }
  }

  /** Bundles that left the store (the store's expiry sweep). */
  remove(id: string, priority: Priority): void {
    const p = PRIORITIES.indexOf(priority);
    this.ready[p]!.delete(id);
    this.later[p]!.delete(id);
    this.limbo[p]!.delete(id);
    const waiting = this.backoff.findIndex((b) => b.id === id);
    if (waiting >= 0) this.backoff.splice(waiting, 1);
    const key = this.heldIn.get(id);
    if (key !== undefined) {
      this.heldIn.delete(id);
      const queue = this.contacts.get(key)!;
      queue.bundles.delete(id);
      if (queue.bundles.size === 0) this.contacts.delete(key);
    }
  }

  publish(): void {
    let pending = this.backoff.length + this.heldIn.size;
    for (let p = 0; p < PRIORITIES.length; p++) pending += this.ready[p]!.size + this.later[p]!.size + this.limbo[p]!.size;
    this.pending.set(pending);
    this.awaitingContact?.set(this.heldIn.size);
  }

  /** Bundles held for each contact, "nextHop@openMs" -> count: what the mission view shows. */
  contactQueues(): Array<{ nextHop: number; window: ContactWindow; bundles: number }> {
    return [...this.contacts.values()].map((q) => ({ nextHop: q.nextHop, window: q.window, bundles: q.bundles.size }));
  }
}
