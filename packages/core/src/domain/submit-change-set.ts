import type { ChangeSetRecord, PlannedEntryRecord } from "../store/change-set-rows.ts";
import type { ChangeRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { auditIdentity } from "./audit-identity.ts";
import { assertCanChange } from "./authorization.ts";
import { FailedPreconditionError, InvalidArgumentError } from "./errors.ts";
import { freeTextViolations } from "./free-text-limits.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { type ChangeSetEntryInput, loadPlan, planEntries } from "./plan-change-set.ts";
import { planApply } from "./plan-apply.ts";
import { recordChange, resourceUnderChange } from "./record-change.ts";
import { sameJson } from "./spec-diff.ts";
import { type DesiredState, desiredState, requestHash } from "./submit-checks.ts";
import { precheckApply, refuseUnmanagedTwin } from "./submit-change.ts";
import type { Precheck, Violation } from "../plugin/define-plugin.ts";
import type { Principal } from "./types.ts";
import { judgeDeletion } from "./judge-deletion.ts";

export interface SubmitChangeSetInput {
  planId: string;
  entries: ChangeSetEntryInput[];
  requestId: string;
  comment: string;
}

export interface SubmittedChangeSet {
  set: ChangeSetRecord;
  members: ChangeRecord[];
  deduplicated: boolean;
}

const requestIdPattern = /^[\x21-\x7e]{1,128}$/;

/**
 * SubmitChangeSet: one ordinary change per entry that changes something, all
 * in one transaction (all or nothing), sharing the set's id and each with its
 * dependency order. Every member is judged as its own submit would be (owner,
 * guardrails, quota, reaches into other teams: its approvals), and the worker
 * judges it again at claim. With a plan, the planned transitions exactly:
 * refused, naming each resource, if any moved since it was planned.
 */
export async function submitChangeSet(
  deps: LifecycleDeps,
  principal: Principal,
  input: SubmitChangeSetInput,
): Promise<SubmittedChangeSet> {
  checkInput(input);
  const hash = requestHash("change-set", { planId: input.planId, entries: input.entries, comment: input.comment });
  const earlier = await deps.store.findChangeSetByRequest(principal.id, input.requestId);
  if (earlier) return await replay(deps, earlier, hash);
  const planned = input.planId
    ? (await loadPlan(deps, principal, input.planId)).entries
    : await planEntries(deps, principal, input.entries);
  const refused = planned.filter((entry) => entry.refusal !== "");
  if (refused.length > 0) {
    throw new FailedPreconditionError(
      `the change set cannot be submitted: ${refused.map((e) => `${e.type} "${e.name}": ${e.refusal}`).join("; ")}`,
    );
  }
  const changing = planned.filter((entry) => entry.action !== "NO_OP");
  // What talks to the outside world (a twin made by hand, a schema registry's verdict) runs before the transaction.
  const prechecks = new Map<PlannedEntryRecord, Precheck | undefined>();
  for (const entry of changing.filter((e) => e.action !== "DELETE")) {
    const plugin = deps.plugins.get(entry.type)!;
    const apply = {
      type: entry.type,
      name: entry.name,
      spec: entry.spec!,
      labels: entry.labels,
      requestId: "",
      comment: "",
    };
    if (entry.action === "CREATE") await refuseUnmanagedTwin(deps, plugin, principal, apply);
    prechecks.set(entry, await precheckApply(deps, plugin, undefined, apply));
  }
  const result = await deps.store.transact(async (tx) => {
    const seen = await tx.findChangeSetByRequest(principal.id, input.requestId);
    if (seen) return { seen };
    // Every resource lock first, in one order (type, name), so two sets over the same resources never deadlock.
    const states = new Map<string, DesiredState>();
    const byKey = [...planned].sort((a, b) => key(a).localeCompare(key(b)));
    for (const entry of byKey) states.set(key(entry), await desiredState(tx, entry.type, entry.name));
    const moved = planned.filter((entry) => !sameBase(entry, states.get(key(entry))!));
    if (moved.length > 0) {
      throw new FailedPreconditionError(
        `changed since the plan: ${moved.map((e) => `${e.type} "${e.name}"`).join(", ")}; plan again`,
      );
    }
    const now = deps.now().toISOString();
    const set: ChangeSetRecord = {
      id: deps.newId(),
      requestedBy: principal.id,
      requestId: input.requestId,
      requestHash: hash,
      team: principal.team,
      comment: input.comment,
      planId: input.planId,
      unchanged: planned.length - changing.length,
      createdAt: now,
    };
    const members: ChangeRecord[] = [];
    for (const entry of changing) {
      const state = states.get(key(entry))!;
      const changeSet = { id: set.id, order: entry.order };
      const submitted =
        entry.action === "DELETE"
          ? await recordDelete(tx, deps, principal, entry, state, changeSet, input.comment)
          : await recordApply(tx, deps, principal, entry, state, changeSet, input.comment, prechecks.get(entry));
      members.push(submitted);
    }
    await tx.insertChangeSet(set);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "submit-change-set",
      target: set.id,
      details: { members: members.map((m) => m.id), planId: input.planId, ...auditIdentity(principal) },
    });
    return { set, members };
  });
  if ("seen" in result) return await replay(deps, result.seen!, hash);
  deps.notifier.workAvailable();
  for (const member of result.members) deps.notifier.changeUpdated(member.id);
  return { set: result.set, members: result.members, deduplicated: false };
}

function checkInput(input: SubmitChangeSetInput): void {
  const violations: Violation[] = [...freeTextViolations({ comment: input.comment })];
  if (!requestIdPattern.test(input.requestId)) {
    violations.push({
      field: "request_id",
      description: "is required: 1-128 printable ASCII characters without spaces (a UUID is ideal)",
      reason: input.requestId ? "INVALID_REQUEST_ID" : "REQUIRED",
    });
  }
  if ((input.planId === "") === (input.entries.length === 0)) {
    violations.push({
      field: input.planId ? "entries" : "plan_id",
      description: "give either a plan_id (from PlanChangeSet) or entries, not both",
      reason: input.planId ? "NOT_ALLOWED" : "REQUIRED",
    });
  }
  if (violations.length > 0) throw new InvalidArgumentError(violations);
}

async function replay(deps: LifecycleDeps, set: ChangeSetRecord, hash: string): Promise<SubmittedChangeSet> {
  if (set.requestHash !== hash) {
    throw new InvalidArgumentError([
      {
        field: "request_id",
        description: "was already used for a different change set; use a new request_id for a new request",
        reason: "IDEMPOTENCY_KEY_REUSED",
      },
    ]);
  }
  return { set, members: await deps.store.listChangeSetMembers(set.id), deduplicated: true };
}

const key = (entry: { type: string; name: string }) => `${entry.type}\u0000${entry.name}`;

/** The resource is where the plan found it: desired or not, at the same applied revision, with the same desired spec. */
function sameBase(entry: PlannedEntryRecord, state: DesiredState): boolean {
  const applied = state.resource && state.resource.status !== "DELETED" ? state.resource.revision : 0;
  return (
    state.exists === entry.baseExists &&
    applied === entry.baseRevision &&
    sameJson(state.resolvedSpec ?? null, entry.baseResolvedSpec)
  );
}

async function recordApply(
  tx: StoreTx,
  deps: LifecycleDeps,
  principal: Principal,
  entry: PlannedEntryRecord,
  state: DesiredState,
  changeSet: { id: string; order: number },
  comment: string,
  precheck: Precheck | undefined,
): Promise<ChangeRecord> {
  const plugin = deps.plugins.get(entry.type)!;
  const previous = state.resource;
  assertCanChange(principal, previous && previous.status !== "DELETED" ? previous.ownerTeam : undefined);
  const spec = entry.spec!;
  const plan = await planApply(tx, deps, plugin, principal, entry.name, spec, entry.labels, state, { precheck });
  if (plan.noOp || plan.kind !== entry.action || !sameJson(plan.resolvedSpec, entry.resolvedSpec)) {
    throw new FailedPreconditionError(
      `${entry.type} "${entry.name}" would now be ${plan.noOp ? "unchanged" : `a different ${plan.kind}`} than planned; plan again`,
    );
  }
  const resource = resourceUnderChange(
    previous,
    { type: entry.type, name: entry.name, identity: plan.identity, ownerTeam: plan.ownerTeam, labels: entry.labels },
    deps.now().toISOString(),
  );
  const recorded = await recordChange(
    tx,
    deps,
    principal,
    {
      type: entry.type,
      name: entry.name,
      kind: plan.kind,
      spec,
      resolvedSpec: plan.resolvedSpec,
      explanations: plan.explanations,
      requiredApprovals: plan.requiredApprovals,
      reviewReasons: plan.reviewReasons,
      accessRequests: plan.accessRequests,
      comment,
      labels: entry.labels,
      // The set holds the request id; its members hold none of their own.
      requestId: "",
      hash: "",
      changeSet,
    },
    resource,
  );
  return recorded.change!;
}

async function recordDelete(
  tx: StoreTx,
  deps: LifecycleDeps,
  principal: Principal,
  entry: PlannedEntryRecord,
  state: DesiredState,
  changeSet: { id: string; order: number },
  comment: string,
): Promise<ChangeRecord> {
  assertCanChange(principal, state.resource!.ownerTeam);
  // Judged again for this submitter, as DeleteResource would judge it: the plan may be a teammate's.
  const plugin = deps.plugins.get(entry.type)!;
  const judged = await judgeDeletion(tx, deps, plugin, principal, entry.name, state.resolvedSpec);
  const recorded = await recordChange(
    tx,
    deps,
    principal,
    {
      type: entry.type,
      name: entry.name,
      kind: "DELETE",
      spec: null,
      resolvedSpec: null,
      explanations: {},
      requiredApprovals: judged.requiredApprovals,
      reviewReasons: judged.reviewReasons,
      accessRequests: [],
      comment,
      labels: state.labels,
      requestId: "",
      hash: "",
      changeSet,
    },
    { ...state.resource!, updatedAt: deps.now().toISOString() },
  );
  return recorded.change!;
}
