import { defaultEngineTimeoutMs, mergeOneLevel, testServiceDefaults } from "./create-test-service.ts";
import type { JsonRecord } from "./types.ts";

/** How long the contract suite waits, derived from the test service's own settings. */
export interface StepTimeouts {
  /** A change from submit to its end, through every retry the worker may make. */
  changeMs: number;
  /** A change made out of band until the reconciler marks the resource DRIFTED. */
  driftMs: number;
  /** One engine preview (with refresh) or one call of a plugin hook. */
  engineMs: number;
}

const numberAt = (config: JsonRecord, section: string, key: string): number => {
  const value = (config[section] as JsonRecord | undefined)?.[key];
  if (typeof value !== "number") throw new Error(`the test service has no ${section}.${key}`);
  return value;
};

/**
 * Each worker attempt may run the engine to its timeout, poll `verify` to
 * its timeout and back off up to `retryMaxMs`; a lost lease adds `leaseMs`.
 * A step waits for all of that, so a retried step is not cut short. Drift
 * shows within a few reconcile rounds, each one preview plus one `verify`.
 */
export function stepTimeouts(
  serviceOverrides: JsonRecord = {},
  engineTimeoutMs = defaultEngineTimeoutMs,
): StepTimeouts {
  const config = mergeOneLevel(testServiceDefaults, serviceOverrides);
  const verifyMs = numberAt(config, "worker", "verifyTimeoutMs");
  const attempt = engineTimeoutMs + verifyMs + numberAt(config, "worker", "retryMaxMs");
  const changeMs =
    numberAt(config, "worker", "maxAttempts") * attempt +
    numberAt(config, "worker", "leaseMs") +
    numberAt(config, "worker", "pollMs");
  const round = numberAt(config, "reconcile", "intervalMs") + engineTimeoutMs + verifyMs;
  return { changeMs, driftMs: 2 * round, engineMs: engineTimeoutMs };
}
