// A new contact plan taken by command: the plan file is uplinked first (the file service of
// flight/cmd/uplink.ts stores it, operator-signed, as `<sha256>` in the incoming directory), then
// ROUTE_PLAN_ACTIVATE (critical: k of n operators approve it) names its SHA-256. The plan is
// validated before anything changes: a missing or altered file, a bad plan or one that does not
// name this node is counted, reported, and thrown as ContactPlanError, and the node keeps routing
// on the plan it had. A good one is written durably to the node's data directory, so it is the
// plan again after a restart, and only then replaces the router's plan; every bundle is routed again.
// The kept copy is all a restart reads (there is no plan rollback: a plan is validated before it
// is used), so the file service is then told to remove the uplinked file from the incoming directory.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from '../durable.js';
import type { EventLog } from '../tlm/events.js';
import type { CgrRouter } from './cgr-router.js';
import { ROUTE_COMMANDS, ROUTE_EVENTS } from './dictionary.js';
import { ContactPlanError } from './errors.js';
import type { PlanIntake } from './plan-load.js';
import type { ContactPlan } from './plan.js';

/** The largest plan file a node takes: a day of a few hundred satellites in Tern JSON fits. */
export const MAX_PLAN_FILE_BYTES = 32 << 20;

const COMMAND = ROUTE_COMMANDS.planActivate.name;

export interface PlanActivationOptions {
  readonly node: number;
  readonly router: CgrRouter;
  readonly intake: PlanIntake;
  readonly events: EventLog;
  /** Where the activated plan is kept (the node's data directory). */
  readonly file: string;
  /** Where uplinked plan files wait for activation, named by their SHA-256. */
  readonly incoming: string;
  /** The router took the plan: the agent routes its bundles again. */
  readonly replanned: () => void;
}

export class PlanActivation {
  private readonly listeners: Array<(sha256: string) => void> = [];
  /** SHA-256 of the plan activated by command and in use (the kept file's). */
  private active: string | undefined;

  constructor(private readonly o: PlanActivationOptions) {
    mkdirSync(o.incoming, { recursive: true });
  }

  /** The plan kind of the file service (flight/cmd/uplink.ts's UplinkKind): files stored in
   *  `incoming`, each removed there once activated; the plan in use is not for FILE_DELETE. */
  uplinkKind(): { dir: string; maxBytes: number; onActivated: (listener: (sha256: string) => void) => void; active: () => string | undefined } {
    return { dir: this.o.incoming, maxBytes: MAX_PLAN_FILE_BYTES, onActivated: (listener) => this.listeners.push(listener), active: () => this.active };
  }

  /** At start: a plan activated by command before a restart is the plan again. */
  restore(): void {
    if (!existsSync(this.o.file)) return;
    this.use(this.o.intake.load(this.o.file));
    this.active = createHash('sha256').update(readFileSync(this.o.file)).digest('hex');
  }

  /** The ROUTE_PLAN_ACTIVATE handler's work: the approved file, validated, kept durably, then used. */
  activate(sha256: string): { sha256: string; contacts: number; nodes: number } {
    const bytes = this.uplinked(sha256);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw this.refuse(new ContactPlanError(COMMAND, 'plan', 'UTF-8 text'));
    }
    const plan = this.o.intake.parse(text, `${COMMAND} ${sha256.slice(0, 16)}`, (p) => {
      if (!p.nodes.includes(this.o.node)) throw new ContactPlanError(COMMAND, 'nodes', `a plan that names this node (${this.o.node})`);
    });
    writeFileDurable(this.o.file, bytes);
    this.use(plan);
    this.active = sha256;
    for (const listener of this.listeners) listener(sha256);
    return { sha256, contacts: plan.contacts.length, nodes: plan.nodes.length };
  }

  /** The uplinked file the operators approved, checked against their digest (the store could have damaged it). */
  private uplinked(sha256: string): Uint8Array {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw this.refuse(new ContactPlanError(COMMAND, 'sha256', '64 lowercase hex digits', sha256));
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(this.o.incoming, sha256));
    } catch (error) {
      throw this.refuse(new ContactPlanError(COMMAND, 'sha256', 'a plan file uplinked with tern gse upload --kind plan', (error as NodeJS.ErrnoException).code ?? (error as Error).message));
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== sha256) throw this.refuse(new ContactPlanError(COMMAND, 'sha256', `the stored file to have the approved digest ${sha256}`, digest));
    return bytes;
  }

  private refuse(error: ContactPlanError): ContactPlanError {
    this.o.intake.refused(error);
    return error;
  }

  private use(plan: ContactPlan): void {
    this.o.router.setPlan(plan);
    this.o.replanned();
    this.o.events.emit(ROUTE_EVENTS.planActivated, { contacts: plan.contacts.length });
  }
}
