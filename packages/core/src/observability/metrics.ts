import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Store } from "../store/store.ts";

/** Plinth's Prometheus metrics, in a registry of their own (no global state). */
export interface Metrics {
  registry: Registry;
  requests: Counter<"service" | "method" | "code">;
  requestDuration: Histogram<"service" | "method">;
  applyDuration: Histogram<"type" | "kind" | "outcome">;
  /** From a change being queued to an engine slot running it. */
  slotWait: Histogram<"type">;
  retries: Counter<"type">;
  changesSubmitted: Counter<"type" | "kind">;
  secretReveals: Counter<"type">;
  reconcileRounds: Counter<"outcome">;
  reconcileRoundDuration: Histogram;
  /** Unix time (s) the last reconcile round ended, or the reconciler started. */
  reconcileLastRoundEnd: Gauge;
  /** The configured time between rounds (s); 0 when periodic reconciling is off. */
  reconcileInterval: Gauge;
  /** Resources a round looked at, by type and how: compared with a bulk inventory, or a refreshing preview. */
  reconcileObservations: Counter<"type" | "method">;
  /** Rounds that took longer than the interval. */
  reconcileOverruns: Counter;
  /** Webhook delivery attempts, by outcome: delivered, failed (will retry) or expired (given up). */
  webhookDeliveries: Counter<"outcome">;
}

/**
 * A store that may refuse work (e.g. its disk is full, or it lost its
 * primary) says why through `refusal()`; a store without it never refuses.
 */
type MaybeRefusingStore = Store & {
  refusal?: () => string | undefined;
  /** Transactions the store ran again, by SQLSTATE, since it opened (PostgreSQL). */
  transactionRetries?: () => Record<string, number>;
};

export function createMetrics(store: MaybeRefusingStore): Metrics {
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
    slotWait: new Histogram({
      name: "plinth_change_slot_wait_seconds",
      help: "Time a change waited for the engine: from being queued (submitted, approved, or due for a retry) until an engine slot ran its attempt.",
      labelNames: ["type"],
      buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
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
    secretReveals: new Counter({
      name: "plinth_secret_reveals_total",
      help: "Secret outputs revealed to a caller (RevealSecret calls that returned a value).",
      labelNames: ["type"],
      registers: [registry],
    }),
    reconcileRounds: new Counter({
      name: "plinth_reconcile_rounds_total",
      help: "Reconcile rounds finished, by outcome (ok, or failed when listing the resources failed).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    reconcileRoundDuration: new Histogram({
      name: "plinth_reconcile_round_duration_seconds",
      help: "Time one reconcile round took to observe every READY and DRIFTED resource.",
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    reconcileLastRoundEnd: new Gauge({
      name: "plinth_reconcile_last_round_end_timestamp_seconds",
      help: "Unix time the last reconcile round ended (the reconciler's start until one has).",
      registers: [registry],
    }),
    reconcileInterval: new Gauge({
      name: "plinth_reconcile_interval_seconds",
      help: "Configured time between reconcile rounds; 0 when periodic reconciling is off.",
      registers: [registry],
    }),
    reconcileObservations: new Counter({
      name: "plinth_reconcile_observations_total",
      help: "Resources a reconcile round looked at, by type and method: bulk (compared with one inventory listing of its scope) or refresh (a refreshing engine preview).",
      labelNames: ["type", "method"],
      registers: [registry],
    }),
    reconcileOverruns: new Counter({
      name: "plinth_reconcile_round_overrun_total",
      help: "Reconcile rounds that took longer than the configured interval.",
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: "plinth_webhook_delivery_attempts_total",
      help: "Webhook delivery attempts, by outcome: delivered (the receiver answered 2xx), failed (it will be tried again) or expired (given up).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
  for (const outcome of ["delivered", "failed", "expired"]) metrics.webhookDeliveries.inc({ outcome }, 0);
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
  new Gauge({
    name: "plinth_change_oldest_age_seconds",
    help: "Per open change status: time since the longest-waiting change in it was last updated.",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, ageMs] of Object.entries(await store.oldestOpenChangeAges(Date.now()))) {
        this.set({ status }, ageMs / 1000);
      }
    },
  });
  new Gauge({
    name: "plinth_resources",
    help: "Resources by type and status (DRIFTED ones differ from their recorded revision).",
    labelNames: ["type", "status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { type, status, count } of await store.countResourcesByStatus()) this.set({ type, status }, count);
    },
  });
  new Gauge({
    name: "plinth_outbox_pending",
    help: "Webhook deliveries waiting in the outbox (PENDING), due or not.",
    registers: [registry],
    async collect() {
      this.set((await store.outboxStats(Date.now())).pending);
    },
  });
  new Gauge({
    name: "plinth_outbox_oldest_due_seconds",
    help: "How long the most overdue PENDING delivery has waited past its next attempt (0 when none is due): it grows when the outbox is stuck.",
    registers: [registry],
    async collect() {
      this.set((await store.outboxStats(Date.now())).oldestDueMs / 1000);
    },
  });
  new Counter({
    name: "plinth_store_transaction_retries_total",
    help: "Store transactions run again from the start, by the SQLSTATE that made them (PostgreSQL: 40P01 deadlock, 23505 a unique key taken meanwhile).",
    labelNames: ["code"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, count] of Object.entries(store.transactionRetries?.() ?? {})) this.inc({ code }, count);
    },
  });
  new Gauge({
    name: "plinth_store_refusing",
    help: "1 while the store refuses new work (the reason is in the logs and in the refused calls' errors), else 0.",
    registers: [registry],
    collect() {
      this.set(store.refusal?.() === undefined ? 0 : 1);
    },
  });
  return metrics;
}
