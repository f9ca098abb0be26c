import { awaitsEngineState } from "./engine-state.ts";
import { setTimeout as delay } from "node:timers/promises";
import { validateDeletion, validateTransition } from "../domain/plugin-calls.ts";
import {
  overridesGuardrails,
  precheckAgainstApplied,
  refuseChange,
  returnToReview,
  verdictAgainstApplied,
} from "../domain/verdict.ts";
import type { JsonObject } from "../domain/types.ts";
import type { EngineEvent, EngineOutputs } from "../engine/engine.ts";
import type { VerifyResult } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ChangeRecord, JobRecord } from "../store/records.ts";
import { computePreview, engineRequest, previewForReview, recordPreview } from "./change-preview.ts";
import { RevalidationError, VerificationError } from "./classify-failure.ts";
import { failChange, recordFailure, recordSuccess } from "./record-outcome.ts";
import {
  LeaseLost,
  type WorkerContext,
  type WorkerDeps,
  type WorkerOptions,
  appendChangeEvent,
  holds,
} from "./worker-context.ts";

export type { WorkerDeps, WorkerOptions } from "./worker-context.ts";

export interface Worker {
  start(): void;
  /**
   * Stops claiming, lets the changes in hand run on for `drainMs`, then stops
   * those still running and hands them over (see `handOver`).
   */
  stop(): Promise<void>;
}

/** Why an attempt was stopped: its worker is stopping, so the attempt is handed over rather than counted. */
class WorkerStopping extends Error {
  override name = "WorkerStopping";
}

/** One attempt in hand: its claim (the job the attempt acts with), how to stop it, and when it has stopped. */
interface Attempt {
  job: JobRecord;
  controller: AbortController;
  done: Promise<void>;
}

export function createWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const active = new Set<Promise<void>>();
  /**
   * The newest attempt in hand per change and phase. A preview for reviewers
   * may still run while the apply its approval queued starts: it changes
   * nothing, and its lease renewal stops it soon.
   */
  const attempts = new Map<string, Attempt>();
  const attemptKey = (job: JobRecord) => `${job.changeId}\u0000${job.phase}`;
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const nudge = (): void => wake?.();
  let unsubscribe: (() => void) | undefined;

  const ctx: WorkerContext = { deps, options };
  /**
   * Claims the next job and marks its change APPLYING, in one transaction.
   * Every claim of an apply job counts as an attempt, whether or not it gets
   * to record an outcome: a change found APPLYING (its last attempt never
   * finished: the server died or its lease lapsed) that has no attempts left
   * is failed instead of resumed, or a change that crashes the server would
   * do so forever. A preview job likewise gives up after `maxAttempts` claims.
   */
  async function claim(): Promise<
    { job: JobRecord; change: ChangeRecord; queuedAt: number; resumed?: boolean } | undefined
  > {
    const ended: string[] = [];
    const retaken: { attempt: Attempt; job: JobRecord }[] = [];
    const claimed = await deps.store.transact(async (tx) => {
      ended.length = 0;
      retaken.length = 0;
      for (;;) {
        const job = await tx.claimJob(options.id, options.leaseMs);
        if (!job) return undefined;
        const change = await tx.getChange(job.changeId);
        // Our own attempt, still running, whose lease lapsed (this process was paused or its loop stalled):
        // nobody else took the job meanwhile, so the attempt goes on under the new claim and records what its
        // engine did. Resuming or failing the change instead would judge an attempt that may well succeed.
        const held = attempts.get(attemptKey(job));
        if (held && !held.controller.signal.aborted && change) {
          await tx.appendEvent({
            changeId: change.id,
            time: deps.now().toISOString(),
            status: null,
            kind: "diagnostic",
            message: `the lease of the running ${job.phase} lapsed (the server paused or stalled); this worker took it back and carries on`,
            details: { worker: options.id },
          });
          retaken.push({ attempt: held, job });
          ended.push(change.id);
          continue;
        }
        if (job.phase === "preview") {
          if (change?.status !== "PENDING_REVIEW") {
            await tx.deleteJob(job.changeId);
            continue;
          }
          // Every earlier claim of a preview job ended without a result (a finished preview ends its job).
          if (job.claims > options.maxAttempts) {
            await tx.deleteJob(job.changeId);
            await tx.appendEvent({
              changeId: change.id,
              time: deps.now().toISOString(),
              status: null,
              kind: "diagnostic",
              message: `preview unavailable: it was started ${job.claims - 1} times and never finished (the server stopped while it ran); review without it`,
              details: null,
            });
            ended.push(change.id);
            continue;
          }
          return { job, change, queuedAt: Date.parse(change.updatedAt) };
        }
        if (!change || !["QUEUED", "APPLYING", "APPROVED"].includes(change.status)) {
          // Cancelled or finished meanwhile: the job is stale.
          await tx.deleteJob(job.changeId);
          continue;
        }
        const now = deps.now().toISOString();
        const resumed = change.status === "APPLYING";
        if (resumed && change.attempts >= options.maxAttempts) {
          const cause = `attempt ${change.attempts} of ${options.maxAttempts} never finished: the server stopped (or lost the change) while it ran`;
          await tx.deleteJob(job.changeId);
          await failChange(
            tx,
            deps,
            change,
            cause,
            `${cause}; no attempts left, so it is not resumed again (a change that crashes the server must not do so forever)`,
            now,
          );
          ended.push(change.id);
          continue;
        }
        const next: ChangeRecord = { ...change, status: "APPLYING", attempts: change.attempts + 1, updatedAt: now };
        await tx.updateChange(next);
        await tx.appendEvent({
          changeId: change.id,
          time: now,
          status: "APPLYING",
          kind: "status",
          message: resumed
            ? `attempt ${next.attempts}: resuming where the last claim stopped (its server stopped or handed it over, or its lease lapsed)`
            : `attempt ${next.attempts}: applying`,
          details: { worker: options.id },
        });
        const resource = await tx.getResource(change.type, change.name);
        if (resource) {
          const status =
            change.kind === "DELETE" ? "DELETING" : resource.revision === 0 ? "PROVISIONING" : resource.status;
          await tx.upsertResource({ ...resource, status, updatedAt: now });
        }
        // Queued since its last status change (submit, approval, retry), or since its retry was due.
        return { job, change: next, queuedAt: Math.max(Date.parse(change.updatedAt), job.runAfter), resumed };
      }
    });
    // The running attempt acts with the new claim from now on (its renewals, events and outcome are fenced by it).
    for (const { attempt, job } of retaken) Object.assign(attempt.job, job);
    for (const id of ended) deps.notifier.changeUpdated(id);
    if (claimed) deps.notifier.changeUpdated(claimed.change.id);
    return claimed;
  }

  /**
   * The verdict was computed at submit (or approval) for the basis the change
   * saw then; it applies on what is applied now. Computed again before the
   * engine touches anything, in one transaction with the outcome: a change
   * that needs more review goes back to it, one that can no longer be allowed
   * fails; neither counts the attempt, which never reached the real resource.
   * A resumed attempt may already have changed the real resource: it finishes.
   * The plugin's `precheck` (the real system's own verdict, e.g. a schema
   * registry's compatibility check) is asked again first, outside the transaction.
   */
  async function judgeAgain(job: JobRecord, change: ChangeRecord, plugin: LoadedPlugin): Promise<boolean> {
    const precheck = await precheckAgainstApplied(deps, plugin, change);
    const sent = await deps.store.transact(async (tx) => {
      if (!holds(await tx.getJob(job.changeId), job)) throw new LeaseLost("lease lost before the verdict");
      const verdict = await verdictAgainstApplied(tx, deps, plugin, change, precheck);
      if (verdict.outcome === "holds") return false;
      const unclaimed = { ...change, attempts: change.attempts - 1 };
      if (verdict.outcome === "refused") {
        await tx.deleteJob(job.changeId);
        await refuseChange(tx, deps, unclaimed, verdict.reason);
      } else {
        await returnToReview(tx, deps, unclaimed, verdict);
      }
      return true;
    });
    return sent;
  }

  /** Keeps the claim's lease alive while the engine works; aborts the work once another claim holds the job. */
  function holdLease(job: JobRecord, controller: AbortController): () => void {
    const timer = setInterval(
      () => {
        let token = job.claimToken;
        deps.store
          .transact(
            (tx) => {
              token = job.claimToken;
              return tx.renewLease(job.changeId, token!, options.leaseMs);
            },
            { lane: "lease" },
          )
          .then((renewed) => {
            // A claim of this worker's own took the job back meanwhile (see `claim`): the attempt holds it still.
            if (!renewed && job.claimToken === token) throw new LeaseLost("the job was claimed again or ended");
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
    event: (kind: "verify", message: string, details: JsonObject) => Promise<void>,
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
        await event("verify", `${what}${result.message ? `: ${result.message}` : ""}`, { rounds: round });
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

  /**
   * Runs one attempt. `previous` is this worker's earlier attempt at the same
   * change, whose lease lapsed before it got the job back: it was told to stop
   * and this one starts only once it has, so that the two never run together.
   */
  async function process(
    job: JobRecord,
    change: ChangeRecord,
    queuedAt: number,
    controller: AbortController,
    previous: Promise<void> | undefined,
    resumed = false,
  ): Promise<void> {
    const started = Date.now();
    const plugin = deps.plugins.get(change.type);
    const release = holdLease(job, controller);
    const event = (kind: "engine" | "diagnostic" | "verify" | "retry", message: string, details: JsonObject | null) =>
      appendChangeEvent(ctx, job, change, kind, message, details);
    try {
      await previous;
      controller.signal.throwIfAborted();
      if (!plugin) throw new RevalidationError(`plugin ${change.type} is not loaded in this service`);
      if (job.phase === "preview") {
        await previewForReview(ctx, job, change, plugin, controller.signal);
        return;
      }
      if (!resumed && (await judgeAgain(job, change, plugin))) return;
      const resource = await deps.store.getResource(change.type, change.name);
      // Re-validate against what is applied now: earlier changes may have moved the resource since submission.
      if (change.kind !== "DELETE" && change.resolvedSpec) {
        const previous = resource && resource.revision > 0 ? resource.resolvedSpec : undefined;
        // An admin's override was reviewed as such: what it overrode still holds (the verdict says the same).
        const overridden = overridesGuardrails(change);
        const violations = validateTransition(plugin, change.name, change.resolvedSpec, previous ?? undefined).filter(
          (violation) => !(overridden && violation.overridable),
        );
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
              engineEvent.kind === "diagnostic" ? "diagnostic" : "engine",
              engineEvent.message,
              engineEvent.details ?? null,
            ),
          )
          .catch((error: unknown) =>
            deps.logger.warn({ err: error, changeId: change.id }, "could not record an engine event"),
          );
      };
      // The attempt's first engine slot ends its wait in the queue: a metric, and an event GetChange reads.
      let slotted = false;
      const onSlot = (): void => {
        if (slotted) return;
        slotted = true;
        const waitedMs = Math.max(0, deps.now().getTime() - queuedAt);
        deps.metrics.slotWait.observe({ type: change.type }, waitedMs / 1000);
        events = events
          .then(() =>
            event("engine", `engine slot after ${(waitedMs / 1000).toFixed(1)} s in the queue`, {
              queuedForSlotMs: waitedMs,
            }),
          )
          .catch((error: unknown) =>
            deps.logger.warn({ err: error, changeId: change.id }, "could not record an engine event"),
          );
      };
      // An auto-approved update is previewed first: a destructive plan goes to review instead.
      // (A create has nothing to replace; a delete or a reviewed change was already approved as such.)
      if (change.kind === "UPDATE" && change.requiredApprovals === 0 && !change.preview) {
        const preview = await computePreview(ctx, plugin, change, controller.signal, onSlot);
        if (await recordPreview(ctx, job, change, preview)) return;
      }
      const request = { ...engineRequest(plugin, change, resource, controller.signal, deps.secrets, onEvent), onSlot };
      let result: EngineOutputs = { outputs: {}, secretOutputs: {} };
      if (change.kind === "DELETE") {
        // An imported resource never changed since has no engine state: take it over first, so there is one to destroy.
        if (resource && (await awaitsEngineState(deps.store, resource)))
          await deps.engine.apply({ ...request, kind: "UPDATE" });
        await deps.engine.destroy(request);
      } else result = await deps.engine.apply(request);
      await events;
      await verify(plugin, change, result, resource?.resolvedSpec ?? null, controller.signal, event);
      await recordSuccess(ctx, job, change, result);
      deps.metrics.applyDuration.observe(
        { type: change.type, kind: change.kind, outcome: "succeeded" },
        (Date.now() - started) / 1000,
      );
    } catch (error) {
      if (error instanceof LeaseLost || controller.signal.reason instanceof LeaseLost) return;
      if (!running && controller.signal.reason instanceof WorkerStopping) {
        await handOver(job, change);
        return;
      }
      deps.logger.warn({ changeId: change.id, type: change.type, name: change.name, err: error }, "apply failed");
      await recordFailure(ctx, job, change, error);
      deps.metrics.applyDuration.observe(
        { type: change.type, kind: change.kind, outcome: "failed" },
        (Date.now() - started) / 1000,
      );
    } finally {
      release();
      if (attempts.get(attemptKey(job))?.controller === controller) attempts.delete(attemptKey(job));
      deps.notifier.changeUpdated(change.id);
      deps.notifier.workAvailable();
    }
  }

  /**
   * Releases the claim of an attempt stopped because this worker is
   * stopping, in one transaction with an event saying so: the job is due and
   * unclaimed at once, so another replica resumes it without waiting out the
   * lease, and the attempt is given back (the change keeps the attempts it
   * had; the resumed attempt counts as the one that was cut short). Nothing
   * once another claim holds the job.
   */
  async function handOver(job: JobRecord, change: ChangeRecord): Promise<void> {
    const handed = await deps.store
      .transact(async (tx) => {
        if (!holds(await tx.getJob(job.changeId), job)) return false;
        const now = deps.now().toISOString();
        await tx.upsertJob({ ...job, runAfter: 0, leaseOwner: null, leaseExpiresAt: null });
        const current = await tx.getChange(change.id);
        const givenBack = job.phase === "apply" && current?.status === "APPLYING" && current.attempts > 0;
        if (givenBack) await tx.updateChange({ ...current, attempts: current.attempts - 1, updatedAt: now });
        await tx.appendEvent({
          changeId: change.id,
          time: now,
          status: null,
          kind: "diagnostic",
          message: `this replica is stopping and its ${job.phase} had not finished within worker.drainMs: stopped and handed over for another replica to resume at once${givenBack ? `; attempt ${change.attempts} does not count` : ""}`,
          details: { worker: options.id },
        });
        return true;
      })
      .catch((error: unknown) => {
        // The lease then runs out as after a crash, and the change is resumed after it.
        deps.logger.warn({ changeId: change.id, err: error }, "could not hand the change over; it waits for its lease");
        return false;
      });
    if (handed) deps.logger.info({ changeId: change.id, phase: job.phase }, "handed the change over");
  }

  async function run(): Promise<void> {
    while (running) {
      if (active.size < options.concurrency) {
        const claimed = await claim().catch((error: unknown) => {
          deps.logger.error({ err: error }, "claiming work failed");
          return undefined;
        });
        if (claimed) {
          const id = claimed.change.id;
          const previous = attempts.get(attemptKey(claimed.job));
          previous?.controller.abort(new LeaseLost("this worker's lease lapsed and it claimed the change again"));
          const controller = new AbortController();
          const task = process(
            claimed.job,
            claimed.change,
            claimed.queuedAt,
            controller,
            previous?.done,
            claimed.resumed,
          ).catch((error: unknown) => deps.logger.error({ err: error, changeId: id }, "worker task crashed"));
          attempts.set(attemptKey(claimed.job), { job: claimed.job, controller, done: task });
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
      // The changes in hand may finish within the drain time; those still running then are handed over.
      const waited = new AbortController();
      const finished = Promise.allSettled([...active]).then(() => true);
      const drained = await Promise.race([
        finished,
        delay(options.drainMs, false, { signal: waited.signal }).catch(() => false),
      ]);
      waited.abort();
      if (!drained) {
        for (const { controller } of attempts.values()) controller.abort(new WorkerStopping("worker stopping"));
      }
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
