// k-of-n approval of critical commands. A critical command runs only once k distinct operators
// with the approve role have validly signed the same body bytes. Signatures may arrive in one
// envelope or several (each approver sends the same body with its own signature); a partly
// approved command is held here, by body digest, until k is reached or its window closes.
import type { ArgValues } from './args.js';
import type { BoundCommand } from './commands.js';
import type { CommandBody, Signature } from './envelope.js';

export interface PendingCommand {
  readonly digest: string;
  readonly bodyBytes: Uint8Array;
  readonly body: CommandBody;
  readonly command: BoundCommand;
  readonly args: ArgValues;
  /** Verified approving signatures, by operator id. */
  readonly approvals: Map<number, Signature>;
  /** Wall-clock ms after which it is dropped: the window end, or the command's expiry if sooner. */
  readonly untilMs: number;
}

export class PendingApprovals {
  private readonly pending = new Map<string, PendingCommand>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.pending.size;
  }

  get(digest: string): PendingCommand | undefined {
    return this.pending.get(digest);
  }

  full(): boolean {
    return this.pending.size >= this.capacity;
  }

  hold(command: PendingCommand): void {
    if (this.full()) throw new Error('approval table full: check full() first');
    this.pending.set(command.digest, command);
  }

  /** Removes a command that reached k (it is about to run). */
  release(digest: string): void {
    this.pending.delete(digest);
  }

  /** Removes and returns every held command whose window closed by `nowMs`. */
  expire(nowMs: number): PendingCommand[] {
    const out: PendingCommand[] = [];
    for (const [digest, command] of this.pending) {
      if (nowMs >= command.untilMs) {
        this.pending.delete(digest);
        out.push(command);
      }
    }
    return out;
  }
}
