import type { LifecycleDeps } from "../../domain/lifecycle-deps.ts";
import type { Metrics } from "../../observability/metrics.ts";

/** What RPC handlers may use: the lifecycle (through its functions) and metrics. */
export interface ServiceDeps extends LifecycleDeps {
  metrics: Metrics;
  /** How often a watcher re-reads the store when nothing in this process woke it (other replicas). */
  watchPollMs: number;
}
