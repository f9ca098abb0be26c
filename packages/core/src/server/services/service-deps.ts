import type { LifecycleDeps } from "../../domain/lifecycle-deps.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { SecretBox } from "../../secrets/secret-box.ts";

/** What RPC handlers may use: the lifecycle (through its functions) and metrics. */
export interface ServiceDeps extends LifecycleDeps {
  metrics: Metrics;
  secrets: SecretBox;
  /** How often a watcher re-reads the store when nothing in this process woke it (other replicas). */
  watchPollMs: number;
}
