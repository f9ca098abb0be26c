import type {
  ChangeEventRecord,
  ChangeRecord,
  JobRecord,
  ReplicaBeat,
  ResourceRecord,
  RevisionRecord,
} from "../records.ts";

// Row <-> record mapping for SQLite: JSON columns are text, booleans integers.

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const parseOr = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));
export const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

export type Row = Record<string, string | number | null>;

export function resourceFromRow(row: Row): ResourceRecord {
  return {
    type: row.type as string,
    name: row.name as string,
    identity: row.identity as string,
    ownerTeam: row.owner_team as string,
    status: row.status as ResourceRecord["status"],
    revision: row.revision as number,
    spec: parse(row.spec as string | null),
    resolvedSpec: parse(row.resolved_spec as string | null),
    outputs: parseOr(row.outputs as string | null, {}),
    secretOutputs: row.secret_outputs as string | null,
    secretOutputKeys: parseOr(row.secret_output_keys as string | null, []),
    labels: parseOr(row.labels as string | null, {}),
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    drift: parse(row.drift as string | null),
  };
}

export function resourceToRow(r: ResourceRecord): Row {
  return {
    type: r.type,
    name: r.name,
    identity: r.identity,
    owner_team: r.ownerTeam,
    status: r.status,
    revision: r.revision,
    spec: json(r.spec),
    resolved_spec: json(r.resolvedSpec),
    outputs: json(r.outputs),
    secret_outputs: r.secretOutputs,
    secret_output_keys: json(r.secretOutputKeys),
    labels: json(r.labels),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    drift: json(r.drift),
  };
}

export function changeFromRow(row: Row): ChangeRecord {
  return {
    id: row.id as string,
    seq: row.seq as number,
    type: row.type as string,
    name: row.name as string,
    kind: row.kind as ChangeRecord["kind"],
    status: row.status as ChangeRecord["status"],
    requestedBy: row.requested_by as string,
    team: row.team as string,
    spec: parse(row.spec as string | null),
    resolvedSpec: parse(row.resolved_spec as string | null),
    explanations: parseOr(row.explanations as string | null, {}),
    baseRevision: row.base_revision as number,
    requiredApprovals: row.required_approvals as number,
    reviewReasons: parseOr(row.review_reasons as string | null, []),
    reviews: parseOr(row.reviews as string | null, []),
    attempts: row.attempts as number,
    lastError: row.last_error as string | null,
    comment: row.comment as string,
    labels: parseOr(row.labels as string | null, {}),
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    finishedAt: row.finished_at as string | null,
    resultRevision: row.result_revision as number | null,
    preview: parse(row.preview as string | null),
    accessRequests: parseOr(row.access_requests as string | null, []),
    changeSetId: (row.change_set_id as string | null | undefined) ?? null,
    changeSetOrder: Number(row.change_set_order ?? 0),
  };
}

export function changeToRow(c: ChangeRecord): Row {
  return {
    id: c.id,
    seq: c.seq,
    type: c.type,
    name: c.name,
    kind: c.kind,
    status: c.status,
    requested_by: c.requestedBy,
    team: c.team,
    spec: json(c.spec),
    resolved_spec: json(c.resolvedSpec),
    explanations: json(c.explanations),
    base_revision: c.baseRevision,
    required_approvals: c.requiredApprovals,
    review_reasons: json(c.reviewReasons),
    reviews: json(c.reviews),
    attempts: c.attempts,
    last_error: c.lastError,
    comment: c.comment,
    labels: json(c.labels),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    finished_at: c.finishedAt,
    result_revision: c.resultRevision,
    preview: json(c.preview),
    access_requests: json(c.accessRequests),
    change_set_id: c.changeSetId ?? null,
    change_set_order: c.changeSetOrder ?? 0,
  };
}

export function eventFromRow(row: Row): ChangeEventRecord {
  return {
    changeId: row.change_id as string,
    sequence: row.sequence as number,
    time: row.time as string,
    status: row.status as ChangeEventRecord["status"],
    kind: row.kind as ChangeEventRecord["kind"],
    message: row.message as string,
    details: parse(row.details as string | null),
  };
}

export function revisionToRow(r: RevisionRecord): Row {
  return {
    type: r.type,
    name: r.name,
    revision: r.revision,
    change_id: r.changeId,
    spec: json(r.spec),
    resolved_spec: json(r.resolvedSpec),
    outputs: json(r.outputs),
    requested_by: r.requestedBy,
    approved_by: json(r.approvedBy),
    created_at: r.createdAt,
    deleted: r.deleted ? 1 : 0,
  };
}

export function revisionFromRow(row: Row): RevisionRecord {
  return {
    type: row.type as string,
    name: row.name as string,
    revision: row.revision as number,
    changeId: row.change_id as string,
    spec: parse(row.spec as string | null),
    resolvedSpec: parse(row.resolved_spec as string | null),
    outputs: parseOr(row.outputs as string | null, {}),
    requestedBy: row.requested_by as string,
    approvedBy: parseOr(row.approved_by as string | null, []),
    createdAt: row.created_at as string,
    deleted: row.deleted === 1,
  };
}

export const toJobRecord = (row: Row): JobRecord => ({
  changeId: row.change_id as string,
  type: row.type as string,
  name: row.name as string,
  seq: row.seq as number,
  runAfter: row.run_after as number,
  leaseOwner: row.lease_owner as string | null,
  leaseExpiresAt: row.lease_expires_at as number | null,
  phase: row.phase as JobRecord["phase"],
  claimToken: row.claim_token as number | null,
  claims: row.claims as number,
});

/** A job record with its fields in the order `toJobRecord` gives them, so that the two compare equal as JSON. */
export const jobFromRecord = (job: JobRecord): JobRecord => ({
  changeId: job.changeId,
  type: job.type,
  name: job.name,
  seq: job.seq,
  runAfter: job.runAfter,
  leaseOwner: job.leaseOwner,
  leaseExpiresAt: job.leaseExpiresAt,
  phase: job.phase,
  claimToken: job.claimToken,
  claims: job.claims,
});

/** Both stores: their queries name the ages `started_ms_ago` and `silent_ms`. */
export function replicaBeatFromRow(row: Row): ReplicaBeat {
  return {
    replica: String(row.replica),
    host: String(row.host),
    pid: Number(row.pid),
    startedMsAgo: Number(row.started_ms_ago),
    silentMs: Number(row.silent_ms),
  };
}
