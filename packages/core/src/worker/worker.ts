import { setTimeout as delay } from "node:timers/promises";
import { validateDeletion, validateTransition } from "../domain/plugin-calls.ts";
import type { JsonObject } from "../domain/types.ts";
import type { EngineEvent, EngineOutputs } from "../engine/engine.ts";
import type { VerifyResult } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ChangeRecord, JobRecord } from "../store/records.ts";
import { computePreview, engineRequest, previewForReview, recordPreview } from "./change-preview.ts";
import { RevalidationError, VerificationError } from "./classify-failure.ts";
import { recordFailure, recordSuccess } from "./record-outcome.ts";
import {
  LeaseLost,
  type WorkerContext,
  type WorkerDeps,
  type WorkerOptions,
  appendChangeEvent,
} from "./worker-context.ts";

export type { WorkerDeps, WorkerOptions } from "./worker-context.ts";

export interface Worker {
  start(): void;
  /** Stops claiming and waits for the changes in hand to finish. */
  stop(): Promise<void>;
}

export function createWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const active = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const nudge = (): void => wake?.();
  let unsubscribe: (() => void) | undefined;

  const ctx: WorkerContext = { deps, options };
  const event = (
    change: ChangeRecord,
    kind: "engine" | "diagnostic" | "verify" | "retry",
    message: string,
    details: JsonObject | null,
  ) => appendChangeEvent(ctx, change, kind, message, details);

  /** Claims the next job and marks its change APPLYING, in one transaction. */
  async function claim(): Promise<{ job: JobRecord; change: ChangeRecord } | undefined> {
    const claimed = await deps.store.transact(async (tx) => {
      for (;;) {
        const job = await tx.claimJob(options.id, options.leaseMs);
        if (!job) return undefined;
        const change = await tx.getChange(job.changeId);
        if (job.phase === "preview") {
          if (change?.status === "PENDING_REVIEW") return { job, change };
          await tx.deleteJob(job.changeId);
          continue;
        }
        if (!change || !["QUEUED", "APPLYING", "APPROVED"].includes(change.status)) {
          // Cancelled or finished meanwhile: the job is stale.
          await tx.deleteJob(job.changeId);
          continue;
        }
        const now = deps.now().toISOString();
        const resumed = change.status === "APPLYING";
        const next: ChangeRecord = { ...change, status: "APPLYING", attempts: change.attempts + 1, updatedAt: now };
        await tx.updateChange(next);
        await tx.appendEvent({
          changeId: change.id,
          time: now,
          status: "APPLYING",
          kind: "status",
          message: resumed
            ? `attempt ${next.attempts}: resuming after the previous worker's lease expired`
            : `attempt ${next.attempts}: applying`,
          details: { worker: options.id },
        });
        const resource = await tx.getResource(change.type, change.name);
        if (resource) {
          const status =
            change.kind === "DELETE" ? "DELETING" : resource.revision === 0 ? "PROVISIONING" : resource.status;
          await tx.upsertResource({ ...resource, status, updatedAt: now });
        }
        return { job, change: next };
      }
    });
    if (claimed) deps.notifier.changeUpdated(claimed.change.id);
    return claimed;
  }

  /** Keeps the lease alive while the engine works; aborts the work if another worker took it. */
  function holdLease(job: JobRecord, controller: AbortController): () => void {
    const timer = setInterval(
      () => {
        deps.store
          .transact(async (tx) => {
            // On the store's clock, and only while this claim's token holds.
            if (!(await tx.renewLease(job.changeId, job.claimToken!, options.leaseMs))) throw new LeaseLost();
          })
          .catch((error: unknown) => {
            deps.logger.warn({ changeId: job.changeId, err: error }, "lost the lease; abandoning the change");
            controller.abort(new LeaseLost("lease lost"));
          });
      },
      Math.max(50, Math.floor(options.leaseMs / 3)),
    );
    return () => clearInterval(timer);
  }

  /**
   * Polls the plugin's independent check with backoff: `verify` after an
   * apply, `verifyGone` after a delete (against the spec that was deleted).
   */
  async function verify(
    plugin: LoadedPlugin,
    change: ChangeRecord,
    outputs: EngineOutputs,
    deletedSpec: JsonObject | null,
    signal: AbortSignal,
  ): Promise<void> {
    const deleting = change.kind === "DELETE";
    const check = deleting ? plugin.definition.verifyGone : plugin.definition.verify;
    const spec = deleting ? deletedSpec : change.resolvedSpec;
    if (!check || !spec) return;
    const deadline = Date.now() + options.verifyTimeoutMs;
    let pause = 200;
    let last: string;
    for (let round = 1; ; round++) {
      signal.throwIfAborted();
      const result = await boundedCheck(
        () =>
          check({
            name: change.name,
            spec,
            outputs: outputs.outputs,
            secretOutputs: outputs.secretOutputs,
            settings: plugin.context.settings,
          }),
        Math.max(deadline - Date.now(), 1),
        signal,
      );
      if (result.ready) {
        const what = deleting ? "verified gone" : "verified";
        await event(change, "verify", `${what}${result.message ? `: ${result.message}` : ""}`, { rounds: round });
        return;
      }
      last = result.message ?? "not ready";
      if (Date.now() + pause > deadline) break;
      await delay(pause, undefined, { signal });
      pause = Math.min(pause * 2, 5_000);
    }
    const hook = deleting ? "verifyGone" : "verify";
    throw new VerificationError(
      `${hook} of plugin ${plugin.definition.type} did not succeed within ${options.verifyTimeoutMs} ms: ${last}`,
    );
  }

  async function process(job: JobRecord, change: ChangeRecord): Promise<void> {
    const started = Date.now();
    const plugin = deps.plugins.get(change.type);
    const controller = new AbortController();
    controllers.add(controller);
    const release = holdLease(job, controller);
    try {
      if (!plugin) throw new RevalidationError(`plugin ${change.type} is not loaded in this service`);
      if (job.phase === "preview") {
        await previewForReview(ctx, job, change, plugin, controller.signal);
        return;
      }
      const resource = await deps.store.getResource(change.type, change.name);
      // Re-validate against what is applied now: earlier changes may have moved the resource since submission.
      if (change.kind !== "DELETE" && change.resolvedSpec) {
        const previous = resource && resource.revision > 0 ? resource.resolvedSpec : undefined;
        const violations = validateTransition(plugin, change.name, change.resolvedSpec, previous ?? undefined);
        if (violations.length > 0) {
          throw new RevalidationError(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
        }
      }
      if (change.kind === "DELETE" && resource?.resolvedSpec) {
        const violations = validateDeletion(plugin, change.name, resource.resolvedSpec);
        if (violations.length > 0) {
          throw new RevalidationError(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
        }
      }
      let events = Promise.resolve();
      const onEvent = (engineEvent: EngineEvent): void => {
        events = events
          .then(() =>
            event(
              change,
              engineEvent.kind === "diagnostic" ? "diagnostic" : "engine",
              engineEvent.message,
              engineEvent.details ?? null,
            ),
          )
          .catch((error: unknown) =>
            deps.logger.warn({ err: error, changeId: change.id }, "could not record an engine event"),
          );
      };
      // An auto-approved update is previewed first: a destructive plan goes to review instead.
      // (A create has nothing to replace; a delete or a reviewed change was already approved as such.)
      if (change.kind === "UPDATE" && change.requiredApprovals === 0 && !change.preview) {
        const preview = await computePreview(ctx, plugin, change, controller.signal);
        if (await recordPreview(ctx, job, change, preview)) return;
      }
      const request = engineRequest(plugin, change, resource, controller.signal, onEvent);
      let result: EngineOutputs = { outputs: {}, secretOutputs: {} };
      if (change.kind === "DELETE") await deps.engine.destroy(request);
      else result = await deps.engine.apply(request);
      await events;
      await verify(plugin, change, result, resource?.resolvedSpec ?? null, controller.signal);
      await recordSuccess(ctx, job, change, result);
      deps.metrics.applyDuration.observe(
        { type: change.type, kind: change.kind, outcome: "succeeded" },
        (Date.now() - started) / 1000,
      );
    } catch (error) {
      if (error instanceof LeaseLost || controller.signal.reason instanceof LeaseLost) return;
      if (!running && controller.signal.aborted) return; // Shutting down: the lease expires and another attempt resumes.
      deps.logger.warn({ changeId: change.id, type: change.type, name: change.name, err: error }, "apply failed");
      await recordFailure(ctx, job, change, error);
      deps.metrics.applyDuration.observe(
        { type: change.type, kind: change.kind, outcome: "failed" },
        (Date.now() - started) / 1000,
      );
    } finally {
      release();
      controllers.delete(controller);
      deps.notifier.changeUpdated(change.id);
      deps.notifier.workAvailable();
    }
  }

  async function run(): Promise<void> {
    while (running) {
      if (active.size < options.concurrency) {
        const claimed = await claim().catch((error: unknown) => {
          deps.logger.error({ err: error }, "claiming work failed");
          return undefined;
        });
        if (claimed) {
          const task = process(claimed.job, claimed.change).catch((error: unknown) =>
            deps.logger.error({ err: error, changeId: claimed.change.id }, "worker task crashed"),
          );
          active.add(task);
          void task.finally(() => active.delete(task));
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      unsubscribe = deps.notifier.onWork(nudge);
      loop = run();
    },
    async stop() {
      running = false;
      unsubscribe?.();
      nudge();
      await loop;
      for (const controller of controllers) controller.abort(new Error("worker stopping"));
      await Promise.allSettled([...active]);
    },
  };
}

/**
 * One call of a plugin's verify, never longer than `timeoutMs`: a verify that
 * hangs must not hold the change (and a worker slot) forever. A throw is a
 * "not ready" answer with the error's message.
 */
async function boundedCheck(
  check: () => Promise<VerifyResult>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<VerifyResult> {
  const late = new AbortController();
  const stop = AbortSignal.any([signal, late.signal]);
  try {
    return await Promise.race([
      Promise.resolve()
        .then(check)
        .catch((error: unknown) => ({ ready: false, message: error instanceof Error ? error.message : String(error) })),
      delay(timeoutMs, undefined, { signal: stop }).then(
        (): VerifyResult => ({ ready: false, message: `no answer within ${timeoutMs} ms` }),
        // Stopped: the check answered first, or the change was abandoned.
        (): VerifyResult => ({ ready: false, message: "stopped" }),
      ),
    ]);
  } finally {
    late.abort();
  }
}
