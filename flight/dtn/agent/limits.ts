// The bundle agent's tunables: the `dtn.agent` section of a mission config (flight/dtn/config.ts).
export interface AgentLimits {
  /** Received bundles waiting for ingest; more are refused (TCPCL: XFER_REFUSE No Resources). */
  inboundQueue: number;
  ingestPerSlot: number;
  dispatchPerSlot: number;
  /** Forwards and deliveries under way at once. */
  inFlight: number;
  /** Wait before retrying a bundle whose send failed, or that waits for its service. */
  retryMs: number;
  /**
   * Bundles with no route or no link wait in limbo until a session comes up (sessionUp()) or the
   * plan changes (replanned()); this is the longest they wait without either, for routes that
   * change with time.
   */
  limboMs: number;
  /** Hop limit put in the hop count block of bundles this node creates. */
  hopLimit: number;
  ingestBudgetUs: number;
  dispatchBudgetUs: number;
  /** Route lists (Yen's routes, ~1.6 ms cold on a 66-satellite plan) one dispatch slot may compute. */
  routeListsPerSlot: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  inboundQueue: 256,
  ingestPerSlot: 64,
  dispatchPerSlot: 64,
  inFlight: 64,
  retryMs: 1000,
  limboMs: 30_000,
  hopLimit: 32,
  ingestBudgetUs: 4000,
  dispatchBudgetUs: 2000,
  routeListsPerSlot: 1,
};
