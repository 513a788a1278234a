// Reading a contact plan file in any of the three formats, told apart by content: JSON with
// "format": "tern-contact-plan/1" is Tern's, JSON with a "contacts" array of HDTN fields is
// HDTN's, text is ionadmin lines. PlanIntake is how a node takes a plan: counted and reported.
import { readFileSync } from 'node:fs';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { ROUTE_CHANNELS, ROUTE_EVENTS } from './dictionary.js';
import { ContactPlanError } from './errors.js';
import type { BuildOptions, ContactPlan } from './plan.js';
import { parseHdtnPlan } from './plan-hdtn.js';
import { parseIonPlan } from './plan-ion.js';
import { parseTernPlan } from './plan-tern.js';

export type PlanFormat = 'tern' | 'ion' | 'hdtn';

export function detectPlanFormat(text: string): PlanFormat {
  const head = text.trimStart();
  if (!head.startsWith('{')) return 'ion';
  return /"format"\s*:\s*"tern-contact-plan/.test(text) ? 'tern' : 'hdtn';
}

export function parsePlan(text: string, options: BuildOptions): ContactPlan {
  const format = detectPlanFormat(text);
  if (format === 'ion') return parseIonPlan(text, options);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ContactPlanError(options.source, '(file)', 'valid JSON', (error as Error).message);
  }
  return format === 'tern' ? parseTernPlan(json, options) : parseHdtnPlan(json, options);
}

export function readPlanFile(file: string, options: Omit<BuildOptions, 'source'> = {}): ContactPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ContactPlanError(file, '(file)', 'a readable contact plan file', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
  return parsePlan(text, { ...options, source: file });
}

export type RouteChannels = Record<keyof typeof ROUTE_CHANNELS, Channel>;

/** A node taking a new plan: validated first; a bad one is counted, reported and thrown, and the caller keeps its old plan. */
export class PlanIntake {
  constructor(
    private readonly ch: RouteChannels,
    private readonly events: EventLog,
    private readonly options: Omit<BuildOptions, 'source'>,
  ) {}

  load(file: string): ContactPlan {
    return this.take(file, () => readPlanFile(file, this.options));
  }

  /**
   * A plan that came as bytes (a command's argument), named `source` in errors and events;
   * `check` refuses a valid plan the node cannot use (throwing ContactPlanError).
   */
  parse(text: string, source: string, check: (plan: ContactPlan) => void = () => undefined): ContactPlan {
    return this.take(source, () => {
      const plan = parsePlan(text, { ...this.options, source });
      check(plan);
      return plan;
    });
  }

  private take(source: string, read: () => ContactPlan): ContactPlan {
    try {
      const plan = read();
      this.ch.plansLoaded.add();
      this.ch.planContacts.set(plan.contacts.length);
      this.events.emit(ROUTE_EVENTS.planLoaded, { source, contacts: plan.contacts.length, nodes: plan.nodes.length });
      return plan;
    } catch (error) {
      if (error instanceof ContactPlanError) this.refused(error);
      throw error;
    }
  }

  /** Counts and reports a plan refused for a reason of the caller's (it names no node of ours). */
  refused(error: ContactPlanError): void {
    this.ch.plansRejected.add();
    this.events.emit(ROUTE_EVENTS.planRejected, { error: error.message });
  }
}
