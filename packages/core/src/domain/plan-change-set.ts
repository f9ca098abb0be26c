import type { Violation } from "../plugin/define-plugin.ts";
import type { ChangeSetPlanRecord, PlannedEntryRecord } from "../store/change-set-rows.ts";
import { assertCanChange } from "./authorization.ts";
import { changeSetOrder } from "./change-set-order.ts";
import { checkApplyInput } from "./check-submission.ts";
import { DomainError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { planApply } from "./plan-apply.ts";
import { planRisks } from "./plan-risks.ts";
import { withReadBudget } from "./read-budget.ts";
import { specDifferences } from "./spec-diff.ts";
import { checkCommonFields, desiredState } from "./submit-checks.ts";
import { precheckApply } from "./submit-change.ts";
import type { JsonObject, Principal } from "./types.ts";
import { judgeDeletion } from "./judge-deletion.ts";

/** One resource as a folder wants it: applied with this spec and these labels, or deleted. */
export interface ChangeSetEntryInput {
  type: string;
  name: string;
  labels: Record<string, string>;
  spec: JsonObject | undefined;
  delete: boolean;
}

/** How long a plan can be submitted by its id. */
export const planLifetimeMs = 24 * 60 * 60 * 1000;
/** Entries in one plan or set: a folder of thousands, not an unbounded request. */
export const maxChangeSetEntries = 5_000;
/** Entries judged at once: each is a short transaction; more only queue behind each other. */
const planConcurrency = 8;

/**
 * Judges every entry: bad input of any entry, all at once, as one
 * INVALID_ARGUMENT (paths `entries[i].spec...`); then per entry what it would
 * do and what it needs, or why it is refused (a guardrail, a quota, a
 * permission, an illegal transition). Writes nothing.
 */
export async function planEntries(
  deps: LifecycleDeps,
  principal: Principal,
  entries: ChangeSetEntryInput[],
): Promise<PlannedEntryRecord[]> {
  await checkEntries(deps, entries);
  const planned: PlannedEntryRecord[] = new Array(entries.length);
  let next = 0;
  const work = async () => {
    for (let at = next++; at < entries.length; at = next++)
      planned[at] = await planEntry(deps, principal, entries[at]!);
  };
  await Promise.all(Array.from({ length: Math.min(planConcurrency, entries.length) }, work));
  return planned;
}

/** PlanChangeSet: plans the entries and, when none is refused, stores the plan for a submit by its id. */
export async function planChangeSet(
  deps: LifecycleDeps,
  principal: Principal,
  entries: ChangeSetEntryInput[],
): Promise<{ plan: ChangeSetPlanRecord; stored: boolean }> {
  const planned = await planEntries(deps, principal, entries);
  const now = deps.now();
  const plan: ChangeSetPlanRecord = {
    id: deps.newId(),
    plannedBy: principal.id,
    teams: [...new Set([principal.team, ...(principal.teams ?? []).map((membership) => membership.team)])],
    entries: planned,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + planLifetimeMs).toISOString(),
  };
  if (planned.some((entry) => entry.refusal !== "")) return { plan: { ...plan, id: "" }, stored: false };
  await deps.store.transact(async (tx) => await tx.insertChangeSetPlan(plan));
  return { plan, stored: true };
}

/**
 * A stored plan, for its planner's teams and admins only (to anyone else it
 * does not exist: a plan shows what a team is about to do); refused once expired.
 */
export async function loadPlan(deps: LifecycleDeps, principal: Principal, id: string): Promise<ChangeSetPlanRecord> {
  const plan = id ? await deps.store.getChangeSetPlan(id) : undefined;
  const teams = new Set([principal.team, ...(principal.teams ?? []).map((membership) => membership.team)]);
  const admin = principal.roles.includes("admin");
  if (!plan || (!admin && plan.plannedBy !== principal.id && !plan.teams.some((team) => teams.has(team)))) {
    throw new NotFoundError(`plan "${id}" does not exist (or belongs to another team)`);
  }
  if (Date.parse(plan.expiresAt) <= deps.now().getTime()) {
    throw new FailedPreconditionError(`plan ${id} expired at ${plan.expiresAt}: plan again`);
  }
  return plan;
}

async function checkEntries(deps: LifecycleDeps, entries: ChangeSetEntryInput[]): Promise<void> {
  const violations: Violation[] = [];
  if (entries.length === 0) {
    violations.push({ field: "entries", description: "must name at least one resource", reason: "REQUIRED" });
  }
  if (entries.length > maxChangeSetEntries) {
    violations.push({
      field: "entries",
      description: `holds ${entries.length} entries; at most ${maxChangeSetEntries} fit in one change set`,
      reason: "TOO_MANY",
    });
    throw new InvalidArgumentError(violations);
  }
  const seen = new Map<string, number>();
  for (const [at, entry] of entries.entries()) {
    const key = `${entry.type}/${entry.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      violations.push({
        field: `entries[${at}]`,
        description: `names ${entry.type} "${entry.name}" again (first at entries[${first}]): one entry per resource`,
        reason: "DUPLICATE",
      });
    }
    seen.set(key, first ?? at);
    violations.push(...(await entryViolations(deps, entry)).map((v) => ({ ...v, field: `entries[${at}].${v.field}` })));
  }
  if (violations.length > 0) throw new InvalidArgumentError(violations);
}

async function entryViolations(deps: LifecycleDeps, entry: ChangeSetEntryInput): Promise<Violation[]> {
  try {
    if (entry.delete) checkCommonFields(deps, entry.type, entry.name);
    else
      await checkApplyInput(deps, { type: entry.type, name: entry.name, spec: entry.spec ?? {}, labels: entry.labels });
    return [];
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.violations;
    // An illegal transition is the entry's refusal, which its plan states.
    if (error instanceof FailedPreconditionError) return [];
    throw error;
  }
}

/** What one entry would do, judged as its own submit would be; a refusal instead of an error. */
async function planEntry(
  deps: LifecycleDeps,
  principal: Principal,
  entry: ChangeSetEntryInput,
): Promise<PlannedEntryRecord> {
  const plugin = deps.plugins.get(entry.type)!;
  const order = changeSetOrder(entry.type, entry.delete);
  const base = { type: entry.type, name: entry.name, order, labels: entry.labels, refusal: "" };
  let observed = { exists: false, revision: 0, resolvedSpec: null as JsonObject | null };
  try {
    const spec = entry.spec ?? {};
    const precheck = entry.delete ? undefined : await precheckApply(deps, plugin, undefined, { ...entry, spec });
    return await deps.store.transact(async (whole) => {
      const tx = withReadBudget(whole, deps.limits.maxReadsPerCall, "this plan");
      const state = await desiredState(tx, entry.type, entry.name);
      const applied = state.resource && state.resource.status !== "DELETED" ? state.resource : undefined;
      observed = { exists: state.exists, revision: applied?.revision ?? 0, resolvedSpec: state.resolvedSpec ?? null };
      const known = {
        baseExists: state.exists,
        baseRevision: observed.revision,
        baseResolvedSpec: observed.resolvedSpec,
      };
      if (entry.delete) {
        if (!state.exists || !state.resource) {
          return { ...base, ...known, ...unchanged, spec: null, resolvedSpec: null, labels: state.labels };
        }
        assertCanChange(principal, state.resource.ownerTeam);
        const judged = await judgeDeletion(tx, deps, plugin, principal, entry.name, state.resolvedSpec);
        const differences = judged.differences;
        return {
          ...base,
          ...known,
          action: "DELETE",
          spec: null,
          labels: state.labels,
          resolvedSpec: null,
          differences,
          labelDifferences: [],
          risks: planRisks("DELETE", differences),
          requiredApprovals: judged.requiredApprovals,
          reviewReasons: judged.reviewReasons,
          approvingTeams: judged.requiredApprovals > 0 ? [state.resource.ownerTeam] : [],
        };
      }
      assertCanChange(principal, applied?.ownerTeam);
      const plan = await planApply(tx, deps, plugin, principal, entry.name, spec, entry.labels, state, { precheck });
      const action = plan.noOp ? "NO_OP" : plan.kind;
      return {
        ...base,
        ...known,
        action,
        spec,
        resolvedSpec: plan.resolvedSpec,
        differences: plan.differences,
        labelDifferences: specDifferences(state.exists ? state.labels : {}, entry.labels).map((d) => ({
          ...d,
          path: `labels.${d.path}`,
        })),
        risks: plan.noOp ? [] : planRisks(plan.kind, plan.differences),
        requiredApprovals: plan.noOp ? 0 : plan.requiredApprovals,
        reviewReasons: plan.noOp ? [] : plan.reviewReasons,
        approvingTeams: plan.noOp ? [] : approvingTeams(plan.ownerTeam, plan.requiredApprovals, plan.accessRequests),
      };
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return {
      ...base,
      ...unchanged,
      action: entry.delete ? "DELETE" : observed.exists ? "UPDATE" : "CREATE",
      spec: entry.delete ? null : (entry.spec ?? {}),
      resolvedSpec: null,
      refusal: error.message,
      baseExists: observed.exists,
      baseRevision: observed.revision,
      baseResolvedSpec: observed.resolvedSpec,
    };
  }
}

/** The teams each asked approval must come from, and the owner's when those would not make up the number needed. */
function approvingTeams(owner: string, required: number, asked: { ownerTeam: string }[]): string[] {
  const teams = [...new Set(asked.map((request) => request.ownerTeam))].sort();
  return required > teams.length ? [...new Set([owner, ...teams])] : teams;
}

const unchanged = {
  action: "NO_OP" as const,
  differences: [],
  labelDifferences: [],
  risks: [],
  requiredApprovals: 0,
  reviewReasons: [],
  approvingTeams: [],
};
