import { createHash } from "node:crypto";
import type { Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ChangeRecord, ResourceRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { assertCanChange } from "./authorization.ts";
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import {
  applyDefaults,
  identityOf,
  parseSpec,
  pluginReview,
  unmanagedConflict,
  validateDeletion,
  validateTransition,
} from "./plugin-calls.ts";
import { decideReview } from "./review-policy.ts";
import { canonicalJson, sameJson, specDifferences } from "./spec-diff.ts";
import type { ChangeKind, JsonObject, Principal, SpecDifference } from "./types.ts";

export interface ApplyInput {
  type: string;
  name: string;
  spec: JsonObject;
  requestId: string;
  expectedRevision?: number;
  comment: string;
  labels: Record<string, string>;
  /** Re-apply even when the spec equals the recorded one (repairing drift). */
  force?: boolean;
}

export interface DeleteInput {
  type: string;
  name: string;
  requestId: string;
  expectedRevision?: number;
  comment: string;
}

export interface SubmitResult {
  change: ChangeRecord | undefined;
  resource: ResourceRecord | undefined;
  deduplicated: boolean;
  noOp: boolean;
}

export interface PreviewResult {
  kind: ChangeKind;
  resolvedSpec: JsonObject;
  explanations: Record<string, string>;
  differences: SpecDifference[];
  noOp: boolean;
  requiredApprovals: number;
  reviewReasons: string[];
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const requestIdPattern = /^[\x21-\x7e]{1,128}$/;

function checkCommonFields(deps: LifecycleDeps, type: string, name: string, requestId?: string): LoadedPlugin {
  const violations: Violation[] = [];
  const plugin = deps.plugins.get(type);
  if (!plugin) {
    const known = deps.plugins.list().map((p) => p.definition.type);
    violations.push({
      field: "type",
      description: `unknown resource type "${type}"; this service knows: ${known.join(", ") || "(no plugins loaded)"}`,
      reason: "UNKNOWN_TYPE",
    });
  }
  if (!namePattern.test(name)) {
    violations.push({
      field: "name",
      description: "must be 1-253 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
      reason: "INVALID_NAME",
    });
  }
  if (requestId !== undefined && requestId !== "" && !requestIdPattern.test(requestId)) {
    violations.push({
      field: "request_id",
      description: "must be 1-128 printable ASCII characters without spaces (a UUID is ideal)",
      reason: "INVALID_REQUEST_ID",
    });
  }
  if (violations.length > 0 || !plugin) throw new InvalidArgumentError(violations);
  return plugin;
}

/** What a resource is meant to be once every live change ahead of a new one has applied. */
interface DesiredState {
  resource: ResourceRecord | undefined;
  exists: boolean;
  resolvedSpec: JsonObject | undefined;
  labels: Record<string, string>;
}

async function desiredState(tx: StoreTx, type: string, name: string): Promise<DesiredState> {
  const resource = await tx.getResource(type, name);
  const tip = await tx.latestLiveChange(type, name);
  if (tip && tip.status !== "SUCCEEDED") {
    return {
      resource,
      exists: tip.kind !== "DELETE",
      resolvedSpec: tip.resolvedSpec ?? undefined,
      labels: tip.labels,
    };
  }
  const exists = resource !== undefined && resource.status !== "DELETED" && resource.revision > 0;
  return {
    resource,
    exists,
    resolvedSpec: exists ? (resource?.resolvedSpec ?? undefined) : undefined,
    labels: resource?.labels ?? {},
  };
}

function requestHash(operation: string, input: object): string {
  return createHash("sha256")
    .update(`${operation}\n${canonicalJson(input)}`)
    .digest("hex");
}

/** Stripe-style idempotency: the same key and payload returns the original outcome; another payload is refused. */
async function replayIfSeen(
  tx: StoreTx,
  principal: Principal,
  requestId: string,
  hash: string,
): Promise<SubmitResult | undefined> {
  if (!requestId) return undefined;
  const seen = await tx.getIdempotencyKey(principal.id, requestId);
  if (!seen) return undefined;
  if (seen.requestHash !== hash) {
    throw new InvalidArgumentError([
      {
        field: "request_id",
        description: "was already used for a different request; use a new request_id for a new request",
        reason: "IDEMPOTENCY_KEY_REUSED",
      },
    ]);
  }
  const change = seen.changeId ? await tx.getChange(seen.changeId) : undefined;
  const resource = change ? await tx.getResource(change.type, change.name) : undefined;
  return { change, resource, deduplicated: true, noOp: seen.changeId === null };
}

function checkExpectedRevision(expected: number | undefined, resource: ResourceRecord | undefined): void {
  if (expected === undefined) return;
  const actual = resource && resource.status !== "DELETED" ? resource.revision : 0;
  if (expected !== actual) {
    throw new AbortedError(
      `expected_revision is ${expected} but the resource is at revision ${actual}: re-read it and retry`,
    );
  }
}

function raiseViolations(violations: Violation[]): void {
  if (violations.length === 0) return;
  if (violations.every((v) => v.transition)) {
    throw new FailedPreconditionError(violations.map((v) => `${v.field}: ${v.description}`).join("; "), violations);
  }
  throw new InvalidArgumentError(violations);
}

interface Plan {
  kind: ChangeKind;
  resolvedSpec: JsonObject;
  explanations: Record<string, string>;
  identity: string;
  differences: SpecDifference[];
  noOp: boolean;
  requiredApprovals: number;
  reviewReasons: string[];
}

/** Steps 2-6 of the submit path: parse, defaults, validate, identity, no-op and review. Writes nothing. */
async function planApply(
  tx: StoreTx,
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  principal: Principal,
  name: string,
  spec: JsonObject,
  labels: Record<string, string>,
  state: DesiredState,
  force = false,
): Promise<Plan> {
  const parsed = parseSpec(plugin, spec);
  const { spec: resolvedSpec, explanations = {} } = applyDefaults(plugin, name, parsed);
  raiseViolations(validateTransition(plugin, name, resolvedSpec, state.exists ? state.resolvedSpec : undefined));
  const identity = identityOf(plugin, name, resolvedSpec);
  const holder = await tx.findResourceByIdentity(plugin.definition.type, identity);
  if (holder && holder.name !== name) {
    throw new AlreadyExistsError(
      `${plugin.definition.type} "${holder.name}" (team ${holder.ownerTeam}) already holds the identity "${identity}" that "${name}" would have`,
    );
  }
  const kind: ChangeKind = state.exists ? "UPDATE" : "CREATE";
  const noOp = !force && state.exists && sameJson(state.resolvedSpec, resolvedSpec) && sameJson(state.labels, labels);
  const differences = specDifferences(state.exists ? state.resolvedSpec : undefined, resolvedSpec);
  const review = decideReview(
    deps.reviewPolicy,
    { kind, name, previous: state.exists ? state.resolvedSpec : undefined, next: resolvedSpec, differences, principal },
    pluginReview(plugin, { kind, name, previous: state.resolvedSpec, next: resolvedSpec, differences, principal }),
  );
  return {
    kind,
    resolvedSpec,
    explanations,
    identity,
    differences,
    noOp,
    requiredApprovals: review.approvals,
    reviewReasons: review.reasons,
  };
}

/** Records the change, its idempotency key and (when auto-approved) its job, in the caller's transaction. */
async function recordChange(
  tx: StoreTx,
  deps: LifecycleDeps,
  principal: Principal,
  fields: {
    type: string;
    name: string;
    kind: ChangeKind;
    spec: JsonObject | null;
    resolvedSpec: JsonObject | null;
    explanations: Record<string, string>;
    requiredApprovals: number;
    reviewReasons: string[];
    comment: string;
    labels: Record<string, string>;
    requestId: string;
    hash: string;
  },
  resource: ResourceRecord,
): Promise<SubmitResult> {
  const now = deps.now().toISOString();
  const autoApproved = fields.requiredApprovals === 0;
  const change = await tx.insertChange({
    id: deps.newId(),
    type: fields.type,
    name: fields.name,
    kind: fields.kind,
    status: autoApproved ? "QUEUED" : "PENDING_REVIEW",
    requestedBy: principal.id,
    team: resource.ownerTeam,
    spec: fields.spec,
    resolvedSpec: fields.resolvedSpec,
    explanations: fields.explanations,
    baseRevision: resource.revision,
    requiredApprovals: fields.requiredApprovals,
    reviewReasons: fields.reviewReasons,
    reviews: [],
    attempts: 0,
    lastError: null,
    comment: fields.comment,
    labels: fields.labels,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    resultRevision: null,
    preview: null,
  });
  await tx.upsertResource(resource);
  await tx.appendEvent({
    changeId: change.id,
    time: now,
    status: change.status,
    kind: "status",
    message: autoApproved
      ? `submitted by ${principal.id}; auto-approved and queued`
      : `submitted by ${principal.id}; needs ${fields.requiredApprovals} approval(s): ${fields.reviewReasons.join("; ")}`,
    details: null,
  });
  // Auto-approved: apply it. Otherwise compute the engine's preview for the reviewers first.
  await tx.upsertJob({
    changeId: change.id,
    type: change.type,
    name: change.name,
    seq: change.seq,
    runAfter: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    phase: autoApproved ? "apply" : "preview",
  });
  if (fields.requestId) {
    await tx.insertIdempotencyKey({
      principal: principal.id,
      requestId: fields.requestId,
      requestHash: fields.hash,
      changeId: change.id,
      createdAt: now,
    });
  }
  return { change, resource, deduplicated: false, noOp: false };
}

/** ApplyResource: create or update. Resolves only after the change is committed. */
export async function submitApply(deps: LifecycleDeps, principal: Principal, input: ApplyInput): Promise<SubmitResult> {
  const plugin = checkCommonFields(deps, input.type, input.name, input.requestId);
  const hash = requestHash("apply", { ...input, requestId: undefined });
  await refuseUnmanagedTwin(deps, plugin, principal, input);
  const result = await deps.store.transact(async (tx) => {
    const replay = await replayIfSeen(tx, principal, input.requestId, hash);
    if (replay) return replay;
    const state = await desiredState(tx, input.type, input.name);
    assertCanChange(
      principal,
      state.resource && state.resource.status !== "DELETED" ? state.resource.ownerTeam : undefined,
    );
    checkExpectedRevision(input.expectedRevision, state.resource);
    const plan = await planApply(tx, deps, plugin, principal, input.name, input.spec, input.labels, state, input.force);
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
      return { change: undefined, resource: state.resource, deduplicated: false, noOp: true };
    }
    const now = deps.now().toISOString();
    const previous = state.resource;
    const reopened = !previous || previous.status === "DELETED" || previous.revision === 0;
    const resource: ResourceRecord = {
      type: input.type,
      name: input.name,
      identity: plan.identity,
      ownerTeam: reopened ? principal.team : previous.ownerTeam,
      status: reopened ? "PROVISIONING" : previous.status,
      revision: previous?.revision ?? 0,
      spec: previous?.spec ?? null,
      resolvedSpec: previous?.resolvedSpec ?? null,
      outputs: previous?.outputs ?? {},
      secretOutputs: previous?.secretOutputs ?? null,
      secretOutputKeys: previous?.secretOutputKeys ?? [],
      labels: previous?.labels ?? input.labels,
      createdAt: reopened ? now : previous.createdAt,
      updatedAt: now,
      drift: previous?.drift ?? null,
    };
    return await recordChange(
      tx,
      deps,
      principal,
      {
        type: input.type,
        name: input.name,
        kind: plan.kind,
        spec: input.spec,
        resolvedSpec: plan.resolvedSpec,
        explanations: plan.explanations,
        requiredApprovals: plan.requiredApprovals,
        reviewReasons: plan.reviewReasons,
        comment: input.comment,
        labels: input.labels,
        requestId: input.requestId,
        hash,
      },
      resource,
    );
  });
  if (result.change && !result.deduplicated) {
    deps.notifier.workAvailable();
    deps.notifier.changeUpdated(result.change.id);
  }
  return result;
}

/**
 * Before a create, asks the plugin whether the real system already holds
 * something under this identity that Plinth does not manage (e.g. a topic
 * made by hand): ALREADY_EXISTS with the plugin's advice (how to adopt it).
 * Runs before the transaction because it talks to the outside world.
 */
async function refuseUnmanagedTwin(
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
  const conflict = await unmanagedConflict(plugin, input.name, resolved, 5_000);
  if (conflict) throw new AlreadyExistsError(conflict);
}

/** DeleteResource: a change that destroys the resource once approved. */
export async function submitDelete(
  deps: LifecycleDeps,
  principal: Principal,
  input: DeleteInput,
): Promise<SubmitResult> {
  const plugin = checkCommonFields(deps, input.type, input.name, input.requestId);
  const hash = requestHash("delete", { ...input, requestId: undefined });
  const result = await deps.store.transact(async (tx) => {
    const replay = await replayIfSeen(tx, principal, input.requestId, hash);
    if (replay) return replay;
    const state = await desiredState(tx, input.type, input.name);
    if (!state.exists || !state.resource) {
      throw new NotFoundError(`${input.type} "${input.name}" does not exist (or is already being deleted)`);
    }
    assertCanChange(principal, state.resource.ownerTeam);
    checkExpectedRevision(input.expectedRevision, state.resource);
    raiseViolations(validateDeletion(plugin, input.name, state.resolvedSpec));
    const differences = specDifferences(state.resolvedSpec, undefined);
    const review = decideReview(
      deps.reviewPolicy,
      { kind: "DELETE", name: input.name, previous: state.resolvedSpec, next: undefined, differences, principal },
      pluginReview(plugin, {
        kind: "DELETE",
        name: input.name,
        previous: state.resolvedSpec,
        next: undefined,
        differences,
        principal,
      }),
    );
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
        requiredApprovals: review.approvals,
        reviewReasons: review.reasons,
        comment: input.comment,
        labels: state.labels,
        requestId: input.requestId,
        hash,
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
  checkCommonFields(deps, input.type, input.name, input.requestId);
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
  input: { type: string; name: string; requestId: string; comment: string },
): Promise<SubmitResult> {
  checkCommonFields(deps, input.type, input.name, input.requestId);
  const current = await deps.store.getResource(input.type, input.name);
  if (!current || current.status === "DELETED" || current.revision === 0 || !current.spec) {
    throw new NotFoundError(`${input.type} "${input.name}" has no applied revision to reconcile to`);
  }
  return await submitApply(deps, principal, {
    type: input.type,
    name: input.name,
    spec: current.spec,
    requestId: input.requestId,
    comment: input.comment || `reconcile: re-apply revision ${current.revision}`,
    labels: current.labels,
    force: true,
  });
}

/** PreviewResource: the whole submit path without writing anything. */
export async function previewApply(
  deps: LifecycleDeps,
  principal: Principal,
  input: { type: string; name: string; spec: JsonObject },
): Promise<PreviewResult> {
  const plugin = checkCommonFields(deps, input.type, input.name);
  // planApply only reads; the transaction gives it the same consistent view a submit has.
  const plan = await deps.store.transact(async (tx) => {
    const state = await desiredState(tx, input.type, input.name);
    return await planApply(tx, deps, plugin, principal, input.name, input.spec, state.labels, state);
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
