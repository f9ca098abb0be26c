import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Store } from "../store/store.ts";

/** Plinth's Prometheus metrics, in a registry of their own (no global state). */
export interface Metrics {
  registry: Registry;
  requests: Counter<"service" | "method" | "code">;
  requestDuration: Histogram<"service" | "method">;
  applyDuration: Histogram<"type" | "kind" | "outcome">;
  retries: Counter<"type">;
  changesSubmitted: Counter<"type" | "kind">;
}

export function createMetrics(store: Store): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "plinth_process_" });
  const metrics: Metrics = {
    registry,
    requests: new Counter({
      name: "plinth_rpc_requests_total",
      help: "RPCs handled, by service, method and Connect code.",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: "plinth_rpc_duration_seconds",
      help: "RPC latency.",
      labelNames: ["service", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    applyDuration: new Histogram({
      name: "plinth_apply_duration_seconds",
      help: "Time from a worker claiming a change to its outcome, engine and verification included.",
      labelNames: ["type", "kind", "outcome"],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    retries: new Counter({
      name: "plinth_change_retries_total",
      help: "Automatic retries scheduled after retryable failures.",
      labelNames: ["type"],
      registers: [registry],
    }),
    changesSubmitted: new Counter({
      name: "plinth_changes_submitted_total",
      help: "Changes recorded (no-ops and deduplicated requests excluded).",
      labelNames: ["type", "kind"],
      registers: [registry],
    }),
  };
  // Read from the store at scrape time, so every replica reports the shared truth.
  new Gauge({
    name: "plinth_changes",
    help: "Changes by status.",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, count] of Object.entries(await store.countChangesByStatus())) this.set({ status }, count);
    },
  });
  new Gauge({
    name: "plinth_queue_depth",
    help: "Approved changes waiting for or being applied.",
    registers: [registry],
    async collect() {
      this.set((await store.queueStats(Date.now())).depth);
    },
  });
  new Gauge({
    name: "plinth_queue_oldest_age_seconds",
    help: "Age of the oldest queued change.",
    registers: [registry],
    async collect() {
      this.set((await store.queueStats(Date.now())).oldestAgeMs / 1000);
    },
  });
  return metrics;
}
