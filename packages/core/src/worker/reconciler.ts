import type { LifecycleDeps } from "../domain/lifecycle-deps.ts";
import type { JsonObject } from "../domain/types.ts";
import { EngineError, type Engine } from "../engine/engine.ts";
import { emitNotification } from "../notifications/emit-notification.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { VerifyResult } from "../plugin/define-plugin.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { ResourceDrift, ResourceRecord } from "../store/records.ts";

export interface ReconcilerOptions {
  /** Time between rounds; 0 turns periodic reconciling off. */
  intervalMs: number;
}

export interface Reconciler {
  start(): void;
  stop(): Promise<void>;
  /** One pass over every READY or DRIFTED resource; resolves when done. */
  reconcileOnce(): Promise<void>;
}

/**
 * Notices when reality moves away from what Plinth recorded: for each settled
 * resource it runs the plugin's `verify` and a refreshing engine preview
 * (both change nothing), and marks the resource DRIFTED with what it found,
 * or READY again once the difference is gone. It never repairs anything by
 * itself: `ReconcileResource` re-applies the recorded spec as a reviewed change.
 */
export function createReconciler(
  deps: LifecycleDeps & { engine: Engine; logger: Logger; metrics: Metrics; secrets?: SecretBox },
  options: ReconcilerOptions,
): Reconciler {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopping = false;

  /** The resource's secret outputs for `verify`; none when they cannot be opened (the check then does without). */
  function secretOutputsOf(resource: ResourceRecord): JsonObject {
    if (!resource.secretOutputs || !deps.secrets) return {};
    try {
      return deps.secrets.open(resource.secretOutputs);
    } catch {
      return {};
    }
  }

  async function observe(resource: ResourceRecord): Promise<string[] | undefined> {
    const plugin = deps.plugins.get(resource.type);
    if (!plugin || !resource.resolvedSpec) return undefined;
    const findings: string[] = [];
    try {
      const preview = await deps.engine.preview({
        stackName: `${resource.type}--${resource.name}`,
        type: resource.type,
        name: resource.name,
        plugin: plugin.ref,
        settings: plugin.settingsJson,
        resolvedSpec: resource.resolvedSpec,
        changeId: `reconcile-${resource.revision}`,
        kind: "UPDATE",
        attempt: 0,
        refresh: true,
      });
      const steps = Object.entries(preview.steps).filter(([op]) => op !== "same");
      if (steps.length > 0) {
        findings.push(`engine: re-applying the recorded spec would ${steps.map(([op, n]) => `${op} ${n}`).join(", ")}`);
      }
    } catch (error) {
      // Unreachable or broken: the state is unknown, which is not drift. Try again next round.
      if (error instanceof EngineError) {
        deps.logger.warn(
          { type: resource.type, name: resource.name, err: error },
          "reconcile could not observe the resource",
        );
        return undefined;
      }
      throw error;
    }
    const verify = plugin.definition.verify;
    if (verify) {
      const result = await verify({
        name: resource.name,
        spec: resource.resolvedSpec,
        outputs: resource.outputs,
        secretOutputs: secretOutputsOf(resource),
        settings: plugin.context.settings,
      }).catch((error: unknown): VerifyResult => ({
        ready: false,
        message: error instanceof Error ? error.message : String(error),
      }));
      if (!result.ready && result.unknown) {
        // As with an unreachable engine: not knowing is not drift. Try again next round.
        deps.logger.warn(
          { type: resource.type, name: resource.name, reason: result.message },
          "reconcile could not verify the resource",
        );
        return undefined;
      }
      if (!result.ready) findings.push(`verify: ${result.message ?? "not as recorded"}`);
    }
    return findings;
  }

  async function reconcile(resource: ResourceRecord): Promise<void> {
    if ((await deps.store.openChanges(resource.type, resource.name)).length > 0) return;
    const findings = await observe(resource);
    if (findings === undefined) return;
    await deps.store.transact(async (tx) => {
      const current = await tx.getResource(resource.type, resource.name);
      // Something moved while we looked: leave it to the next round.
      if (!current || current.revision !== resource.revision || !["READY", "DRIFTED"].includes(current.status)) return;
      if ((await tx.openChanges(resource.type, resource.name)).length > 0) return;
      const now = deps.now().toISOString();
      if (findings.length === 0) {
        if (current.status === "DRIFTED") {
          await tx.upsertResource({ ...current, status: "READY", drift: null, updatedAt: now });
          await tx.appendAudit({
            time: now,
            principal: "plinth",
            action: "drift-cleared",
            target: `${current.type}/${current.name}`,
            details: {},
          });
        }
        return;
      }
      const drift: ResourceDrift = {
        detectedAt: current.drift?.detectedAt ?? now,
        findings,
        details: { revision: current.revision } as JsonObject,
      };
      await tx.upsertResource({ ...current, status: "DRIFTED", drift, updatedAt: now });
      if (current.status !== "DRIFTED") {
        await tx.appendAudit({
          time: now,
          principal: "plinth",
          action: "drift-detected",
          target: `${current.type}/${current.name}`,
          details: { findings },
        });
        await emitNotification(tx, deps, {
          kind: "DRIFT_DETECTED",
          type: current.type,
          name: current.name,
          team: current.ownerTeam,
          change: null,
          message: `${current.type} "${current.name}" drifted from revision ${current.revision}: ${findings.join("; ")}`,
          details: { findings },
        });
        deps.logger.warn(
          { type: current.type, name: current.name, findings },
          "resource drifted from its recorded revision",
        );
      }
    });
  }

  async function reconcileOnce(): Promise<void> {
    for (const status of ["READY", "DRIFTED"] as const) {
      let token = "";
      do {
        const page = await deps.store.listResources({ status }, 100, token);
        for (const resource of page.items) {
          if (stopping) return;
          await reconcile(resource).catch((error: unknown) =>
            deps.logger.error({ err: error, type: resource.type, name: resource.name }, "reconcile failed"),
          );
        }
        token = page.nextPageToken;
      } while (token);
    }
  }

  /** One periodic round, measured: `PlinthReconcileLate` alerts when rounds stop ending in time. */
  async function timedRound(): Promise<void> {
    const started = Date.now();
    let outcome = "ok";
    try {
      await reconcileOnce();
    } catch (error) {
      outcome = "failed";
      deps.logger.error({ err: error }, "reconcile round failed");
    }
    deps.metrics.reconcileRounds.inc({ outcome });
    deps.metrics.reconcileRoundDuration.observe((Date.now() - started) / 1000);
    deps.metrics.reconcileLastRoundEnd.set(Date.now() / 1000);
  }

  const schedule = () => {
    if (stopping || options.intervalMs <= 0) return;
    timer = setTimeout(() => {
      round = timedRound().finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };

  return {
    start() {
      deps.metrics.reconcileInterval.set(Math.max(0, options.intervalMs) / 1000);
      // Counts as a round's end, so a fresh server is not "late" before its first round is due.
      deps.metrics.reconcileLastRoundEnd.set(Date.now() / 1000);
      schedule();
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await round;
    },
    reconcileOnce,
  };
}
