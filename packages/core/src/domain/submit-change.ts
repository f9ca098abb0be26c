import { auditIdentity } from "./audit-identity.ts";
import type { Precheck } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { StoreTx } from "../store/store.ts";
import { assertCanChange } from "./authorization.ts";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { applyDefaults, parseSpec, precheckOf, unmanagedConflict } from "./plugin-calls.ts";
import { sameJson } from "./spec-diff.ts";
import type { JsonObject, Principal } from "./types.ts";
import {
  type SubmitResult,
  type ApplyInput,
  type CallbackInput,
  type DeleteInput,
  type PreviewResult,
} from "./submit-types.ts";
import {
  type DesiredState,
  checkCommonFields,
  checkExpectedRevision,
  desiredState,
  replayIfSeen,
  requestHash,
} from "./submit-checks.ts";
import { planApply } from "./plan-apply.ts";
import { recordChange, resourceUnderChange } from "./record-change.ts";
import { checkApplyInput } from "./check-submission.ts";
import { checkWebhookTarget } from "../notifications/check-webhook.ts";
import { withReadBudget } from "./read-budget.ts";
import { judgeDeletion } from "./judge-deletion.ts";

export type { ApplyInput, DeleteInput, PreviewResult, SubmitResult } from "./submit-types.ts";

/**
 * A reach that the team owning what it reaches withdraws from another team's
 * resource (RevokeAccessGrant): the only apply a principal outside the
 * owning team may submit, audited as such.
 */
export interface RevocationInput {
  field: string;
  access: string;
  ownerTeam: string;
  /** The RevokeAccessGrant request's own hash, for its idempotency key. */
  hash: string;
}

/** How a change built by the service from a resource's spec (revoke, reconcile, repair) is built. */
export interface RebuiltChange {
  revocation?: RevocationInput;
  /**
   * Builds the spec inside the submit's transaction from the latest live
   * spec (an open change's, if any), so the new change never undoes one
   * still open; `input.spec` is then only the request as it was asked.
   */
  rebase?: (state: DesiredState, tx: StoreTx) => Promise<JsonObject>;
  /** A repair of drift: refused while any change on the resource is open, since the open change owns what comes next. */
  repair?: boolean;
}

/** ApplyResource: create or update. Resolves only after the change is committed. */
export async function submitApply(
  deps: LifecycleDeps,
  principal: Principal,
  input: ApplyInput,
  rebuilt: RebuiltChange = {},
): Promise<SubmitResult> {
  const { revocation } = rebuilt;
  // Every check of the input, all at once, before refuseUnmanagedTwin talks to the real system.
  const plugin = await checkApplyInput(deps, input, await callbackViolations(deps, input.callback));
  const hash = revocation?.hash ?? requestHash("apply", { ...input, requestId: undefined });
  const callback = sealedCallback(deps, input.callback);
  await refuseUnmanagedTwin(deps, plugin, principal, input);
  const precheck = await precheckApply(deps, plugin, principal, input);
  const result = await deps.store.transact(async (tx) => {
    // The resource lock first (desiredState takes it), then the request id: a duplicate sent while the first
    // was committing waited for that lock and now sees the first's key, whatever the first did to the resource.
    const state = await desiredState(tx, input.type, input.name);
    const replay = await replayIfSeen(tx, principal, input.requestId, hash);
    if (replay) return replay.noOp ? await noOpResult(tx, input, true) : replay;
    if (rebuilt.repair) {
      const open = await tx.openChanges(input.type, input.name);
      if (open.length > 0) {
        throw new FailedPreconditionError(
          `change ${open[0]!.id} to ${input.type} "${input.name}" is ${open[0]!.status}: a repair of drift is not ` +
            `submitted while a change is open, so that it never undoes one`,
        );
      }
    }
    const spec = rebuilt.rebase ? await rebuilt.rebase(state, tx) : input.spec;
    if (!revocation) {
      assertCanChange(
        principal,
        state.resource && state.resource.status !== "DELETED" ? state.resource.ownerTeam : undefined,
      );
    }
    checkExpectedRevision(input.expectedRevision, state.resource);
    const plan = await planApply(tx, deps, plugin, principal, input.name, spec, input.labels, state, {
      force: input.force,
      overrideGuardrails: input.overrideGuardrails,
      repair: input.repair,
      precheck,
    });
    if (plan.overriddenGuardrails) {
      await tx.appendAudit({
        time: deps.now().toISOString(),
        principal: principal.id,
        action: "override-guardrails",
        target: `${input.type}/${input.name}`,
        details: { overridden: plan.overriddenGuardrails, requestId: input.requestId, ...auditIdentity(principal) },
      });
    }
    if (revocation) {
      await tx.appendAudit({
        time: deps.now().toISOString(),
        principal: principal.id,
        action: "revoke-access-grant",
        target: `${input.type}/${input.name}`,
        details: {
          field: revocation.field,
          access: revocation.access,
          ownerTeam: revocation.ownerTeam,
          requestId: input.requestId,
        },
      });
    }
    if (plan.noOp) {
      if (input.requestId) {
        await tx.insertIdempotencyKey({
          principal: principal.id,
          requestId: input.requestId,
          requestHash: hash,
          changeId: null,
          createdAt: deps.now().toISOString(),
        });
      }
      return await noOpResult(tx, input, false);
    }
    const resource = resourceUnderChange(
      state.resource,
      { type: input.type, name: input.name, identity: plan.identity, ownerTeam: plan.ownerTeam, labels: input.labels },
      deps.now().toISOString(),
    );
    return await recordChange(
      tx,
      deps,
      principal,
      {
        type: input.type,
        name: input.name,
        kind: plan.kind,
        spec,
        resolvedSpec: plan.resolvedSpec,
        explanations: plan.explanations,
        requiredApprovals: plan.requiredApprovals,
        reviewReasons: plan.reviewReasons,
        accessRequests: plan.accessRequests,
        team: revocation?.ownerTeam,
        comment: input.comment,
        labels: input.labels,
        requestId: input.requestId,
        hash,
        callback,
      },
      resource,
    );
  });
  if (result.change && !result.deduplicated && !result.noOp) {
    deps.notifier.workAvailable();
    deps.notifier.changeUpdated(result.change.id);
  }
  return result;
}

/**
 * A no-op answers with the change a caller would wait on: the open change
 * that already leads to this spec, or the one that applied it (final, so
 * waiting returns at once). Unset only when no change of the resource is on
 * record, which the response's `no_op` then says means nothing to wait for.
 */
async function noOpResult(tx: StoreTx, input: ApplyInput, deduplicated: boolean): Promise<SubmitResult> {
  const change = await tx.latestLiveChange(input.type, input.name);
  const resource = await tx.getResource(input.type, input.name);
  return { change, resource, deduplicated, noOp: true };
}

/**
 * How long a plugin's findUnmanaged may take before the create is refused
 * (UNAVAILABLE): long enough for a loaded cluster to answer a few questions,
 * shorter than the Kafka and PostgreSQL clients' own 10 s timeouts, so the
 * request is answered before those fire.
 */
const unmanagedCheckTimeoutMs = 8_000;

/**
 * Before a create, asks the plugin whether the real system already holds
 * something under this identity that Plinth does not manage (e.g. a topic
 * made by hand): ALREADY_EXISTS with the plugin's advice (how to adopt it).
 * Runs before the transaction because it talks to the outside world.
 */
export async function refuseUnmanagedTwin(
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  principal: Principal,
  input: ApplyInput,
): Promise<void> {
  if (!plugin.definition.findUnmanaged) return;
  if (input.requestId && (await deps.store.getIdempotencyKey(principal.id, input.requestId))) return;
  const current = await deps.store.getResource(input.type, input.name);
  if (current && current.status !== "DELETED" && current.revision > 0) return;
  const parsed = parseSpec(plugin, input.spec);
  const resolved = applyDefaults(plugin, input.name, parsed).spec;
  const conflict = await unmanagedConflict(plugin, input.name, resolved, unmanagedCheckTimeoutMs);
  if (conflict) throw new AlreadyExistsError(conflict);
}

const callbackViolations = async (deps: LifecycleDeps, callback: CallbackInput | undefined) =>
  callback
    ? await checkWebhookTarget(deps.notifications.targets, { url: callback.url, secret: callback.secret }, "callback.")
    : [];

/**
 * The plugin's `precheck` of what this apply asks for (e.g. a schema
 * registry's compatibility check), before the transaction because it talks
 * to the outside world. Skipped for a replayed request and for a spec that
 * resolves to the one in force (a no-op or a forced re-apply asks nothing new).
 */
export async function precheckApply(
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  principal: Principal | undefined,
  input: { type: string; name: string; spec: JsonObject; requestId?: string },
): Promise<Precheck | undefined> {
  if (!plugin.definition.precheck) return undefined;
  if (principal && input.requestId && (await deps.store.getIdempotencyKey(principal.id, input.requestId))) {
    return undefined;
  }
  const current = await deps.store.getResource(input.type, input.name);
  const previous =
    current && current.status !== "DELETED" && current.revision > 0 ? (current.resolvedSpec ?? undefined) : undefined;
  const resolved = applyDefaults(plugin, input.name, parseSpec(plugin, input.spec)).spec;
  if (previous && sameJson(previous, resolved)) return undefined;
  return await precheckOf(plugin, input.name, resolved, previous, precheckTimeoutMs);
}

const precheckTimeoutMs = 8_000;

const sealedCallback = (deps: LifecycleDeps, callback: CallbackInput | undefined) =>
  callback && {
    ...callback,
    sealedSecret: callback.secret ? deps.notifications.sealSecret(callback.secret) : null,
  };

/** DeleteResource: a change that destroys the resource once approved. */
export async function submitDelete(
  deps: LifecycleDeps,
  principal: Principal,
  input: DeleteInput,
): Promise<SubmitResult> {
  const plugin = checkCommonFields(
    deps,
    input.type,
    input.name,
    input.requestId,
    { comment: input.comment },
    await callbackViolations(deps, input.callback),
  );
  const hash = requestHash("delete", { ...input, requestId: undefined });
  const callback = sealedCallback(deps, input.callback);
  const result = await deps.store.transact(async (tx) => {
    // The resource lock before the request id, as in submitApply.
    const state = await desiredState(tx, input.type, input.name);
    const replay = await replayIfSeen(tx, principal, input.requestId, hash);
    if (replay) return replay;
    if (!state.exists || !state.resource) {
      throw new NotFoundError(`${input.type} "${input.name}" does not exist (or is already being deleted)`);
    }
    assertCanChange(principal, state.resource.ownerTeam);
    checkExpectedRevision(input.expectedRevision, state.resource);
    const judged = await judgeDeletion(tx, deps, plugin, principal, input.name, state.resolvedSpec);
    return await recordChange(
      tx,
      deps,
      principal,
      {
        type: input.type,
        name: input.name,
        kind: "DELETE",
        spec: null,
        resolvedSpec: null,
        explanations: {},
        requiredApprovals: judged.requiredApprovals,
        reviewReasons: judged.reviewReasons,
        accessRequests: [],
        comment: input.comment,
        labels: state.labels,
        requestId: input.requestId,
        hash,
        callback,
      },
      { ...state.resource, updatedAt: deps.now().toISOString() },
    );
  });
  if (result.change && !result.deduplicated) {
    deps.notifier.workAvailable();
    deps.notifier.changeUpdated(result.change.id);
  }
  return result;
}

/** RevertResource: a new change whose spec is an earlier revision's, reviewed like any other. */
export async function submitRevert(
  deps: LifecycleDeps,
  principal: Principal,
  input: { type: string; name: string; revision: number; requestId: string; comment: string },
): Promise<SubmitResult> {
  checkCommonFields(deps, input.type, input.name, input.requestId, { comment: input.comment });
  const revision = await deps.store.getRevision(input.type, input.name, input.revision);
  if (!revision) throw new NotFoundError(`${input.type} "${input.name}" has no revision ${input.revision}`);
  if (revision.deleted || !revision.spec) {
    throw new FailedPreconditionError(`revision ${input.revision} records a delete; there is no spec to revert to`);
  }
  const current = await deps.store.getResource(input.type, input.name);
  return await submitApply(deps, principal, {
    type: input.type,
    name: input.name,
    spec: revision.spec,
    requestId: input.requestId,
    comment: input.comment || `revert to revision ${input.revision}`,
    labels: current?.labels ?? {},
  });
}

/** ReconcileResource: re-apply the recorded spec as a new change, even though it is unchanged. */
export async function submitReconcile(
  deps: LifecycleDeps,
  principal: Principal,
  input: { type: string; name: string; requestId: string; comment: string; repair?: "auto" | "review" },
): Promise<SubmitResult> {
  checkCommonFields(deps, input.type, input.name, input.requestId, { comment: input.comment });
  const current = await deps.store.getResource(input.type, input.name);
  if (!current || current.status === "DELETED" || current.revision === 0 || !current.spec) {
    throw new NotFoundError(`${input.type} "${input.name}" has no applied revision to reconcile to`);
  }
  return await submitApply(
    deps,
    principal,
    {
      type: input.type,
      name: input.name,
      spec: current.spec,
      requestId: input.requestId,
      comment: input.comment || `reconcile: re-apply revision ${current.revision}`,
      labels: current.labels,
      force: true,
      repair: input.repair,
    },
    {
      repair: input.repair !== undefined,
      // An open change is the latest word on the spec: re-applying the applied one would undo it.
      rebase: async (state) => state.spec ?? current.spec!,
    },
  );
}

/** PreviewResource: the whole submit path without writing anything. */
export async function previewApply(
  deps: LifecycleDeps,
  principal: Principal,
  input: { type: string; name: string; spec: JsonObject },
): Promise<PreviewResult> {
  const plugin = await checkApplyInput(deps, input);
  const precheck = await precheckApply(deps, plugin, undefined, input);
  // planApply only reads; the transaction gives it the same consistent view a submit has.
  const plan = await deps.store.transact(async (whole) => {
    const tx = withReadBudget(whole, deps.limits.maxReadsPerCall, "this preview");
    const state = await desiredState(tx, input.type, input.name);
    return await planApply(tx, deps, plugin, principal, input.name, input.spec, state.labels, state, { precheck });
  });
  return {
    kind: plan.kind,
    resolvedSpec: plan.resolvedSpec,
    explanations: plan.explanations,
    differences: plan.differences,
    noOp: plan.noOp,
    requiredApprovals: plan.requiredApprovals,
    reviewReasons: plan.reviewReasons,
  };
}
