import { setTimeout as delay } from "node:timers/promises";
import type { LifecycleDeps } from "../domain/lifecycle-deps.ts";
import { validateDeletion, validateTransition } from "../domain/plugin-calls.ts";
import type { JsonObject } from "../domain/types.ts";
import type { Engine, EngineEvent, EngineOutputs, EngineRequest } from "../engine/engine.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { ChangePreview, ChangeRecord, JobRecord, ResourceRecord } from "../store/records.ts";
import { backoffDelay } from "./backoff.ts";
import { RevalidationError, VerificationError, classifyFailure } from "./classify-failure.ts";

export interface WorkerOptions {
  /** Unique per process: the lease owner. */
  id: string;
  /** Changes applied at once by this worker. */
  concurrency: number;
  /** How long a claim holds without renewal; a dead worker's changes resume after this. */
  leaseMs: number;
  /** How often to look for due work when nothing wakes the worker (retries, other replicas). */
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  verifyTimeoutMs: number;
}

export const defaultWorkerOptions: Omit<WorkerOptions, "id"> = {
  concurrency: 2,
  leaseMs: 30_000,
  pollMs: 1_000,
  maxAttempts: 5,
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
  verifyTimeoutMs: 60_000,
};

export interface WorkerDeps extends LifecycleDeps {
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox;
}

export interface Worker {
  start(): void;
  /** Stops claiming and waits for the changes in hand to finish. */
  stop(): Promise<void>;
}

class LeaseLost extends Error {}

export function createWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const active = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const nudge = (): void => wake?.();
  let unsubscribe: (() => void) | undefined;

  async function event(
    change: ChangeRecord,
    kind: "engine" | "diagnostic" | "verify" | "retry",
    message: string,
    details: JsonObject | null,
  ): Promise<void> {
    await deps.store.transact((tx) =>
      tx.appendEvent({ changeId: change.id, time: deps.now().toISOString(), status: null, kind, message, details }),
    );
    deps.notifier.changeUpdated(change.id);
  }

  /** Claims the next job and marks its change APPLYING, in one transaction. */
  async function claim(): Promise<{ job: JobRecord; change: ChangeRecord } | undefined> {
    const claimed = await deps.store.transact(async (tx) => {
      for (;;) {
        const job = await tx.claimJob(options.id, deps.now().getTime(), options.leaseMs);
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
            const current = await tx.getJob(job.changeId);
            if (!current || current.leaseOwner !== options.id) throw new LeaseLost();
            await tx.upsertJob({ ...current, leaseExpiresAt: deps.now().getTime() + options.leaseMs });
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

  async function verify(
    plugin: LoadedPlugin,
    change: ChangeRecord,
    outputs: JsonObject,
    signal: AbortSignal,
  ): Promise<void> {
    const check = plugin.definition.verify;
    if (!check || change.kind === "DELETE" || !change.resolvedSpec) return;
    const deadline = Date.now() + options.verifyTimeoutMs;
    let pause = 200;
    let last: string;
    for (let round = 1; ; round++) {
      signal.throwIfAborted();
      const result = await check({
        name: change.name,
        spec: change.resolvedSpec,
        outputs,
        settings: plugin.context.settings,
      }).catch((error: unknown) => ({ ready: false, message: error instanceof Error ? error.message : String(error) }));
      if (result.ready) {
        await event(change, "verify", `verified${result.message ? `: ${result.message}` : ""}`, { rounds: round });
        return;
      }
      last = result.message ?? "not ready";
      if (Date.now() + pause > deadline) break;
      await delay(pause, undefined, { signal });
      pause = Math.min(pause * 2, 5_000);
    }
    throw new VerificationError(`verification did not succeed within ${options.verifyTimeoutMs} ms: ${last}`);
  }

  async function succeed(job: JobRecord, change: ChangeRecord, result: EngineOutputs): Promise<void> {
    await deps.store.transact(async (tx) => {
      const current = await tx.getJob(job.changeId);
      if (!current || current.leaseOwner !== options.id)
        throw new LeaseLost("lease lost before the result was recorded");
      const resource = await tx.getResource(change.type, change.name);
      if (!resource) throw new Error(`resource row for ${change.type}/${change.name} is missing`);
      const now = deps.now().toISOString();
      const revision = resource.revision + 1;
      const deleted = change.kind === "DELETE";
      const approvedBy = change.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer);
      await tx.insertRevision({
        type: change.type,
        name: change.name,
        revision,
        changeId: change.id,
        spec: change.spec,
        resolvedSpec: change.resolvedSpec,
        outputs: deleted ? {} : result.outputs,
        requestedBy: change.requestedBy,
        approvedBy,
        createdAt: now,
        deleted,
      });
      const secretKeys = Object.keys(result.secretOutputs);
      await tx.upsertResource({
        ...resource,
        status: deleted ? "DELETED" : "READY",
        revision,
        spec: deleted ? null : change.spec,
        resolvedSpec: deleted ? null : change.resolvedSpec,
        outputs: deleted ? {} : result.outputs,
        secretOutputs: deleted || secretKeys.length === 0 ? null : deps.secrets.seal(result.secretOutputs),
        secretOutputKeys: deleted ? [] : secretKeys,
        labels: change.labels,
        updatedAt: now,
        drift: null,
      });
      await tx.updateChange({
        ...change,
        status: "SUCCEEDED",
        updatedAt: now,
        finishedAt: now,
        lastError: null,
        resultRevision: revision,
      });
      await tx.appendEvent({
        changeId: change.id,
        time: now,
        status: "SUCCEEDED",
        kind: "status",
        message: deleted ? `deleted; revision ${revision} records it` : `applied as revision ${revision}`,
        details: null,
      });
      await tx.deleteJob(change.id);
    });
  }

  async function fail(job: JobRecord, change: ChangeRecord, error: unknown): Promise<void> {
    const failure = classifyFailure(error);
    const retry = failure.retryable && change.attempts < options.maxAttempts;
    await deps.store.transact(async (tx) => {
      const current = await tx.getJob(job.changeId);
      if (!current || current.leaseOwner !== options.id) return;
      if (current.phase === "preview") return;
      const now = deps.now();
      const stamp = now.toISOString();
      if (retry) {
        const wait = backoffDelay(change.attempts, options.retryBaseMs, options.retryMaxMs);
        await tx.upsertJob({ ...current, runAfter: now.getTime() + wait, leaseOwner: null, leaseExpiresAt: null });
        await tx.updateChange({ ...change, status: "QUEUED", lastError: failure.message, updatedAt: stamp });
        await tx.appendEvent({
          changeId: change.id,
          time: stamp,
          status: "QUEUED",
          kind: "retry",
          message: `attempt ${change.attempts} failed; retrying in ${Math.round(wait / 100) / 10} s: ${failure.message}`,
          details: { attempt: change.attempts, retryInMs: wait },
        });
        return;
      }
      await tx.deleteJob(change.id);
      await tx.updateChange({
        ...change,
        status: "FAILED",
        lastError: failure.message,
        updatedAt: stamp,
        finishedAt: stamp,
      });
      await tx.appendEvent({
        changeId: change.id,
        time: stamp,
        status: "FAILED",
        kind: "status",
        message: `failed after ${change.attempts} attempt(s): ${failure.message}`,
        details: null,
      });
      const resource = await tx.getResource(change.type, change.name);
      if (resource) await tx.upsertResource({ ...resource, status: "FAILED", updatedAt: stamp });
    });
    if (retry) deps.metrics.retries.inc({ type: change.type });
  }

  function engineRequest(
    plugin: LoadedPlugin,
    change: ChangeRecord,
    resource: ResourceRecord | undefined,
    signal: AbortSignal,
    onEvent?: (event: EngineEvent) => void,
  ): EngineRequest {
    return {
      stackName: `${change.type}--${change.name}`,
      type: change.type,
      name: change.name,
      plugin: plugin.ref,
      settings: plugin.settingsJson,
      resolvedSpec: (change.resolvedSpec ?? resource?.resolvedSpec ?? {}) as JsonObject,
      changeId: change.id,
      kind: change.kind,
      attempt: change.attempts,
      onEvent,
      signal,
      // Always start from the real resource, so an apply also repairs drift.
      refresh: true,
    };
  }

  /** What the engine would do; a delete is destructive by definition and needs no engine run. */
  async function computePreview(
    plugin: LoadedPlugin,
    change: ChangeRecord,
    signal: AbortSignal,
  ): Promise<ChangePreview> {
    const time = deps.now().toISOString();
    if (change.kind === "DELETE") return { steps: { delete: 1 }, destructive: true, details: {}, time };
    const resource = await deps.store.getResource(change.type, change.name);
    const preview = await deps.engine.preview(engineRequest(plugin, change, resource, signal));
    return { ...preview, time };
  }

  const describePreview = (preview: ChangePreview): string =>
    `preview: ${
      Object.entries(preview.steps)
        .map(([op, n]) => `${op} ${n}`)
        .join(", ") || "no changes"
    }${preview.destructive ? " (DESTRUCTIVE: a stateful resource would be replaced or deleted)" : ""}`;

  /**
   * Records a preview on the change. A destructive one raises the change to at
   * least one approval; when it was auto-approved it goes back to review
   * instead of being applied. Returns true when the change went back to review.
   */
  async function recordPreview(job: JobRecord, change: ChangeRecord, preview: ChangePreview): Promise<boolean> {
    const escalate = preview.destructive && change.requiredApprovals < 1;
    const held = await deps.store.transact(async (tx) => {
      const current = await tx.getJob(job.changeId);
      if (!current || current.leaseOwner !== options.id)
        throw new LeaseLost("lease lost before the preview was recorded");
      const fresh = (await tx.getChange(change.id)) ?? change;
      const now = deps.now().toISOString();
      const demote = escalate && fresh.status === "APPLYING";
      const next: ChangeRecord = {
        ...fresh,
        preview,
        updatedAt: now,
        ...(escalate
          ? {
              requiredApprovals: 1,
              reviewReasons: [
                ...fresh.reviewReasons.filter((r) => !r.startsWith("auto-approved")),
                "the engine preview is destructive: it replaces or deletes a stateful resource",
              ],
            }
          : {}),
        ...(demote ? { status: "PENDING_REVIEW" as const, attempts: Math.max(0, fresh.attempts - 1) } : {}),
      };
      await tx.updateChange(next);
      await tx.appendEvent({
        changeId: change.id,
        time: now,
        status: demote ? "PENDING_REVIEW" : null,
        kind: "engine",
        message: demote ? `${describePreview(preview)}; held for review` : describePreview(preview),
        details: { steps: preview.steps, destructive: preview.destructive, ...preview.details },
      });
      if (job.phase === "preview" || demote) await tx.deleteJob(change.id);
      return demote;
    });
    deps.notifier.changeUpdated(change.id);
    return held;
  }

  async function previewForReview(
    job: JobRecord,
    change: ChangeRecord,
    plugin: LoadedPlugin,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await recordPreview(job, change, await computePreview(plugin, change, signal));
    } catch (error) {
      if (error instanceof LeaseLost) return;
      // A preview is advice for reviewers: its failure must not block the review.
      await deps.store.transact(async (tx) => {
        await tx.appendEvent({
          changeId: change.id,
          time: deps.now().toISOString(),
          status: null,
          kind: "diagnostic",
          message: `preview unavailable: ${classifyFailure(error).message}`,
          details: null,
        });
        await tx.deleteJob(change.id);
      });
      deps.notifier.changeUpdated(change.id);
    }
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
        await previewForReview(job, change, plugin, controller.signal);
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
        const preview = await computePreview(plugin, change, controller.signal);
        if (await recordPreview(job, change, preview)) return;
      }
      const request = engineRequest(plugin, change, resource, controller.signal, onEvent);
      let result: EngineOutputs = { outputs: {}, secretOutputs: {} };
      if (change.kind === "DELETE") await deps.engine.destroy(request);
      else result = await deps.engine.apply(request);
      await events;
      await verify(plugin, change, result.outputs, controller.signal);
      await succeed(job, change, result);
      deps.metrics.applyDuration.observe(
        { type: change.type, kind: change.kind, outcome: "succeeded" },
        (Date.now() - started) / 1000,
      );
    } catch (error) {
      if (error instanceof LeaseLost || controller.signal.reason instanceof LeaseLost) return;
      if (!running && controller.signal.aborted) return; // Shutting down: the lease expires and another attempt resumes.
      deps.logger.warn({ changeId: change.id, type: change.type, name: change.name, err: error }, "apply failed");
      await fail(job, change, error);
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
