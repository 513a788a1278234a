// A new contact plan taken by command (ROUTE_PLAN_LOAD, critical: k of n operators approve it).
// The plan is validated before anything changes: a bad plan (or one that does not name this
// node) is counted, reported, and thrown as ContactPlanError, and the node keeps routing on the
// plan it had. A good one is written durably to the node's data directory, so it is the plan
// again after a restart, and only then replaces the router's plan; every bundle is routed again.
import { existsSync } from 'node:fs';
import { writeFileDurable } from '../durable.js';
import type { EventLog } from '../tlm/events.js';
import type { CgrRouter } from './cgr-router.js';
import { ROUTE_EVENTS } from './dictionary.js';
import { ContactPlanError } from './errors.js';
import type { PlanIntake } from './plan-load.js';
import type { ContactPlan } from './plan.js';

export interface PlanActivationOptions {
  readonly node: number;
  readonly router: CgrRouter;
  readonly intake: PlanIntake;
  readonly events: EventLog;
  /** Where the activated plan is kept (the node's data directory). */
  readonly file: string;
  /** The router took the plan: the agent routes its bundles again. */
  readonly replanned: () => void;
}

export class PlanActivation {
  constructor(private readonly o: PlanActivationOptions) {}

  /** At start: a plan activated by command before a restart is the plan again. */
  restore(): void {
    if (existsSync(this.o.file)) this.use(this.o.intake.load(this.o.file));
  }

  /** The ROUTE_PLAN_LOAD handler's work: validate, keep durably, then use. */
  activate(bytes: Uint8Array): { contacts: number; nodes: number } {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const error = new ContactPlanError('ROUTE_PLAN_LOAD', 'plan', 'UTF-8 text');
      this.o.intake.refused(error);
      throw error;
    }
    const plan = this.o.intake.parse(text, 'ROUTE_PLAN_LOAD', (p) => {
      if (!p.nodes.includes(this.o.node)) throw new ContactPlanError('ROUTE_PLAN_LOAD', 'nodes', `a plan that names this node (${this.o.node})`);
    });
    writeFileDurable(this.o.file, bytes);
    this.use(plan);
    return { contacts: plan.contacts.length, nodes: plan.nodes.length };
  }

  private use(plan: ContactPlan): void {
    this.o.router.setPlan(plan);
    this.o.replanned();
    this.o.events.emit(ROUTE_EVENTS.planActivated, { contacts: plan.contacts.length });
  }
}
