import type { ChangeKind, JsonObject, SpecDifference } from "../domain/types.ts";

/** What one entry of a plan would do, and the base it was judged against. */
export interface PlannedEntryRecord {
  type: string;
  name: string;
  action: ChangeKind | "NO_OP";
  /** The spec as asked (null for a delete) and its labels: what a submit by plan id submits. */
  spec: JsonObject | null;
  labels: Record<string, string>;
  /** The resolved spec the plan expects to reach (null for a delete). */
  resolvedSpec: JsonObject | null;
  differences: SpecDifference[];
  /** The labels' differences, as `labels.<key>`. */
  labelDifferences: SpecDifference[];
  risks: string[];
  requiredApprovals: number;
  reviewReasons: string[];
  approvingTeams: string[];
  /** Empty when the entry can be submitted. */
  refusal: string;
  /** The base: whether the resource was desired (applied or on its way), its applied revision, its desired resolved spec. */
  baseExists: boolean;
  baseRevision: number;
  baseResolvedSpec: JsonObject | null;
  order: number;
}

export interface ChangeSetPlanRecord {
  id: string;
  plannedBy: string;
  /** The planner's teams: who else may see and submit the plan. */
  teams: string[];
  entries: PlannedEntryRecord[];
  createdAt: string;
  expiresAt: string;
}

export interface ChangeSetRecord {
  id: string;
  requestedBy: string;
  requestId: string;
  /** Hash of the request, so a request id reused for another request is refused. */
  requestHash: string;
  team: string;
  comment: string;
  planId: string;
  /** Entries that were no-ops and got no change. */
  unchanged: number;
  createdAt: string;
}

/**
 * The claim's condition (SQL over the job `j`, both stores): a change set
 * member's apply waits until every member of a lower order succeeded, so a
 * failed or unapproved earlier member holds the later ones. A preview is never
 * held: reviewers see every member's engine plan before anything applies.
 */
export const changeSetTurn = `(j.phase <> 'apply' OR NOT EXISTS (
  SELECT 1 FROM changes m JOIN changes e ON e.change_set_id = m.change_set_id AND e.change_set_order < m.change_set_order
  WHERE m.id = j.change_id AND m.change_set_id IS NOT NULL AND e.status <> 'SUCCEEDED'))`;

/** The `change_set_plans` row's JSON body. */
export const planBody = (plan: ChangeSetPlanRecord): string =>
  JSON.stringify({ teams: plan.teams, entries: plan.entries });

export function planFromRow(row: Record<string, unknown>): ChangeSetPlanRecord {
  const body = JSON.parse(row.body as string) as Pick<ChangeSetPlanRecord, "teams" | "entries">;
  return {
    id: row.id as string,
    plannedBy: row.planned_by as string,
    ...body,
    createdAt: row.created_at as string,
    expiresAt: row.expires_at as string,
  };
}

/** The `change_sets` row's JSON body. */
export const changeSetBody = (set: ChangeSetRecord): string =>
  JSON.stringify({
    requestHash: set.requestHash,
    team: set.team,
    comment: set.comment,
    planId: set.planId,
    unchanged: set.unchanged,
  });

export function changeSetFromRow(row: Record<string, unknown>): ChangeSetRecord {
  const body = JSON.parse(row.body as string) as Omit<
    ChangeSetRecord,
    "id" | "requestedBy" | "requestId" | "createdAt"
  >;
  return {
    id: row.id as string,
    requestedBy: row.requested_by as string,
    requestId: row.request_id as string,
    ...body,
    createdAt: row.created_at as string,
  };
}
