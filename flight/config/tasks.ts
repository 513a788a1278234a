// The tasks a node runs, known from its mission config alone, so that the schedule tables are
// checked against them when the config is read, before anything is built (a bad table then
// costs no store lock, socket or worker). flight/app.ts builds exactly these tasks and refuses to
// start if the two ever differ: a task added to the node must be added here too.
import type { CmdConfig } from '../cmd/config.js';
import type { DtnConfig } from '../dtn/config.js';
import type { EccConfig } from '../ecc/config.js';
import { SCRUB_TASK } from '../ecc/scrubber.js';
import { STORE_SCRUB_TASK } from '../dtn/store/scrub.js';
import type { TaskSpec } from '../exec/schedule.js';
import { ANOMALY_TASK, INFER_TASK, type InferConfig } from '../infer/config.js';
import { HOUSEKEEPING_BUDGET_US } from '../tlm/housekeeping.js';

/** Budget of the store's maintenance task (expiry backstop, bounded compaction). */
export const STORE_UPKEEP_BUDGET_US = 1000;

export function nodeTasks(dtn: DtnConfig, cmd: CmdConfig | undefined, ecc?: EccConfig): TaskSpec[] {
  return [
    { name: 'tlm.housekeeping', criticality: 'normal', budgetUs: HOUSEKEEPING_BUDGET_US },
    { name: 'dtn.store', criticality: 'low', budgetUs: STORE_UPKEEP_BUDGET_US },
    { name: 'dtn.ingest', criticality: 'normal', budgetUs: dtn.agent.ingestBudgetUs },
    { name: 'dtn.dispatch', criticality: 'normal', budgetUs: dtn.agent.dispatchBudgetUs },
    ...(cmd
      ? [
          { name: 'cmd.dispatch', criticality: 'normal', budgetUs: cmd.dispatch.budgetUs },
          { name: 'cmd.sequence', criticality: 'normal', budgetUs: cmd.sequence.budgetUs },
        ] as const
      : []),
    ...(ecc
      ? [
          { name: SCRUB_TASK, criticality: 'low', budgetUs: ecc.scrub.budgetUs },
          { name: STORE_SCRUB_TASK, criticality: 'low', budgetUs: ecc.store.budgetUs },
        ] as const
      : []),
  ];
}

/** The inference tasks of the node's `infer` section: triage, anomaly monitor (flight/infer/node.ts builds them). */
export function inferTasks(infer: InferConfig | undefined): TaskSpec[] {
  return [
    ...(infer?.triage ? [{ name: INFER_TASK, criticality: 'low', budgetUs: infer.budgetUs }] as const : []),
    ...(infer?.anomaly ? [{ name: ANOMALY_TASK, criticality: 'low', budgetUs: infer.anomaly.budgetUs }] as const : []),
  ];
}
