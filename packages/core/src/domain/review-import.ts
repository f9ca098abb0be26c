import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ImportItemRecord, ImportRecord, ImportSkipRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { auditIdentity } from "./audit-identity.ts";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import { isAdmin, teamsWithRole } from "./import-teams.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { observeImport } from "./observe-import.ts";
import { createResourceLookup } from "./ownership.ts";
import { checkQuotaOfMany, withOpenChanges } from "./team-quota.ts";
import type { Principal, Review } from "./types.ts";
import { freeTextLimits } from "./free-text-limits.ts";
import { emitNotification } from "../notifications/emit-notification.ts";

/** The label on the change that records an imported resource: the import's id. */
export const importLabel = "plinth/import";

/** The teams an import hands resources to, sorted. */
export const receivingTeams = (record: ImportRecord): string[] =>
  [...new Set(record.items.map((item) => item.ownerTeam))].sort();

/** Receiving teams no approval covers yet: an admin's covers all. */
export function teamsStillToApprove(record: ImportRecord): string[] {
  const approvals = record.reviews.filter((review) => review.decision === "APPROVED");
  if (approvals.some((review) => review.team === "*")) return [];
  const approved = new Set(approvals.map((review) => review.team));
  return receivingTeams(record).filter((team) => !approved.has(team));
}

async function load(deps: LifecycleDeps, id: string): Promise<ImportRecord> {
  const record = id ? await deps.store.getImport(id) : undefined;
  if (!record) throw new NotFoundError(`import "${id}" does not exist`);
  return record;
}

function checkComment(comment: string): void {
  if (comment.length > freeTextLimits.commentChars) {
    throw new InvalidArgumentError([
      { field: "comment", reason: "TOO_LONG", description: `at most ${freeTextLimits.commentChars} characters` },
    ]);
  }
}

/**
 * The teams of `record` whose share `principal` may decide: all of them for
 * an admin ("*"); for a reviewer of a platform team (`review.platformTeams`),
 * as for changes, every receiving team; else the receiving teams it reviews
 * for. Never the requester's own import.
 */
function decidableTeams(
  principal: Principal,
  record: ImportRecord,
  only: string,
  platformTeams: readonly string[] = [],
): string[] {
  if (principal.id === record.requestedBy) {
    throw new PermissionDeniedError("nobody reviews their own import: ask a reviewer of the receiving teams");
  }
  if (record.status !== "PENDING_REVIEW") {
    throw new FailedPreconditionError(`import ${record.id} is ${record.status}, not waiting for review`);
  }
  if (isAdmin(principal)) return ["*"];
  const receiving = receivingTeams(record);
  const reviewsFor = teamsWithRole(principal, "reviewer");
  const platform = reviewsFor.some((team) => platformTeams.includes(team));
  const mine = platform ? receiving : reviewsFor.filter((team) => receiving.includes(team));
  const chosen = only ? mine.filter((team) => team === only) : mine;
  if (chosen.length === 0) {
    const platformNote = platformTeams.length > 0 ? `, a reviewer of ${platformTeams.join(", ")} (platform teams)` : "";
    throw new PermissionDeniedError(
      `import ${record.id} hands resources to ${receiving.join(", ")}; only a reviewer of ${only ? `team ${only}, if it is one of them,` : "one of those teams"}${platformNote} or an admin may decide it`,
    );
  }
  return chosen;
}

/**
 * A reviewer of receiving teams approves their share (an admin, or a reviewer
 * of a platform team, the whole import). An approval that would take a
 * receiving team over a quota is refused and records nothing. The approval that completes it records every resource in
 * the same transaction, re-observed just before: what changed or came under
 * management since the plan is skipped, never recorded on a stale view.
 */
export async function approveImport(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
  team = "",
): Promise<ImportRecord> {
  checkComment(comment);
  const planned = await load(deps, id);
  const teams = decidableTeams(principal, planned, team, deps.reviewPolicy.platformTeams);
  const completes =
    teamsStillToApprove({
      ...planned,
      reviews: [...planned.reviews, ...reviewsOf(deps, principal, teams, "APPROVED", comment)],
    }).length === 0;
  const plugin = deps.plugins.get(planned.type);
  if (completes && !plugin) throw new FailedPreconditionError(`no plugin handles ${planned.type} any more`);
  // Outside the transaction: the real system's view as it is now, for the resources about to be recorded.
  const fresh = completes && plugin ? await observeImport(deps.store, plugin, planned.scope, planned.rules) : undefined;
  return await deps.store.transact(async (tx) => {
    const current = await tx.getImport(id);
    if (!current) throw new NotFoundError(`import "${id}" does not exist`);
    decidableTeams(principal, current, team, deps.reviewPolicy.platformTeams);
    const now = deps.now().toISOString();
    const reviews = [...current.reviews, ...reviewsOf(deps, principal, teams, "APPROVED", comment)];
    let record: ImportRecord = { ...current, reviews, updatedAt: now };
    const waiting = teamsStillToApprove(record);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "approve-import",
      target: `import/${id}`,
      details: { teams, waitingFor: waiting, ...auditIdentity(principal) },
    });
    if (waiting.length === 0) {
      // Another approval may have completed it in between: then this one did not see the fresh listing.
      if (!fresh || !plugin)
        throw new FailedPreconditionError(`import ${id} changed while it was approved: approve again`);
      record = await recordImported(tx, deps, plugin, record, fresh.items, now);
    }
    await tx.updateImport(record);
    return record;
  });
}

function reviewsOf(
  deps: LifecycleDeps,
  principal: Principal,
  teams: string[],
  decision: Review["decision"],
  comment: string,
): Review[] {
  const createdAt = deps.now().toISOString();
  return teams.map((team) => ({ reviewer: principal.id, team, decision, comment, createdAt }));
}

/** Rejects the whole import: a reviewer of any receiving team or of a platform team, or an admin. */
export async function rejectImport(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
): Promise<ImportRecord> {
  checkComment(comment);
  return await deps.store.transact(async (tx) => {
    const current = await tx.getImport(id);
    if (!current) throw new NotFoundError(`import "${id}" does not exist`);
    const teams = decidableTeams(principal, current, "", deps.reviewPolicy.platformTeams);
    const now = deps.now().toISOString();
    const record: ImportRecord = {
      ...current,
      status: "REJECTED",
      reviews: [...current.reviews, ...reviewsOf(deps, principal, teams, "REJECTED", comment)],
      updatedAt: now,
    };
    await tx.updateImport(record);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "reject-import",
      target: `import/${id}`,
      details: { teams, comment, ...auditIdentity(principal) },
    });
    return record;
  });
}

/**
 * Records every item still as planned as a managed resource: revision 1 (or
 * the next after a deleted one of the name), READY, with a SUCCEEDED change
 * that says who imported and who approved it, so the import is in its
 * history. The change carries `importLabel` and no engine attempt: the
 * resource has no engine state until its first change, which takes the
 * existing thing over (see the plugin's `importSpec`).
 */
async function recordImported(
  tx: StoreTx,
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  record: ImportRecord,
  observedNow: ImportItemRecord[],
  now: string,
): Promise<ImportRecord> {
  const asObserved = new Map(observedNow.map((item) => [item.name, item]));
  const approvedBy = [...new Set(record.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer))];
  const imported: ImportItemRecord[] = [];
  const skipped: ImportSkipRecord[] = [...record.skipped];
  const importable: ImportItemRecord[] = [];
  for (const item of record.items) {
    const why = await stillImportable(tx, plugin, item, asObserved.get(item.name));
    if (why) skipped.push({ name: item.name, reason: why });
    else importable.push(item);
  }
  // As a submitted change is: what the receiving teams already hold and have open, plus this import, within quota.
  await checkQuotaOfMany(
    plugin,
    withOpenChanges(tx, createResourceLookup(tx)),
    importable.map((item) => ({ name: item.name, team: item.ownerTeam, spec: item.resolvedSpec })),
    `import ${record.id}`,
    tx.lock?.bind(tx),
  );
  // Subscriptions tied to a change cannot name these changes yet: the others, read once for every resource.
  const subscriptions = await tx.subscriptionsFor(null);
  for (const item of importable) {
    const previous = await tx.getResource(record.type, item.name);
    const revision = (previous?.revision ?? 0) + 1;
    const change = await tx.insertChange({
      id: deps.newId(),
      type: record.type,
      name: item.name,
      kind: "CREATE",
      status: "SUCCEEDED",
      requestedBy: record.requestedBy,
      team: item.ownerTeam,
      spec: item.spec,
      resolvedSpec: item.resolvedSpec,
      explanations: {},
      baseRevision: previous?.revision ?? 0,
      requiredApprovals: 1,
      reviewReasons: [
        `imported from ${record.scope} as observed (import ${record.id}); nothing on the real system changed`,
      ],
      reviews: record.reviews,
      attempts: 0,
      lastError: null,
      comment: record.comment,
      labels: { [importLabel]: record.id },
      createdAt: record.createdAt,
      updatedAt: now,
      finishedAt: now,
      resultRevision: revision,
      preview: null,
      accessRequests: [],
    });
    const history = `imported as revision ${revision} by import ${record.id} of ${record.requestedBy}, approved by ${approvedBy.join(", ")}: recorded as observed, nothing changed`;
    await tx.appendEvent({
      changeId: change.id,
      time: now,
      status: "SUCCEEDED",
      kind: "status",
      message: history,
      details: null,
    });
    // One event per resource, as for any change that succeeds: subscribers filter by team and type, and an
    // import hands resources of one type to many teams, so each team hears of its own resources only.
    await emitNotification(
      tx,
      deps,
      {
        kind: "SUCCEEDED",
        type: record.type,
        name: item.name,
        team: item.ownerTeam,
        change,
        message: `${record.type} "${item.name}" ${history} (from ${record.scope})`,
        details: { import: { id: record.id, scope: record.scope, requestedBy: record.requestedBy, approvedBy } },
      },
      subscriptions,
    );
    await tx.insertRevision({
      type: record.type,
      name: item.name,
      revision,
      changeId: change.id,
      spec: item.spec,
      resolvedSpec: item.resolvedSpec,
      outputs: {},
      requestedBy: record.requestedBy,
      approvedBy,
      createdAt: now,
      deleted: false,
    });
    await tx.upsertResource({
      type: record.type,
      name: item.name,
      identity: item.identity,
      ownerTeam: item.ownerTeam,
      status: "READY",
      revision,
      spec: item.spec,
      resolvedSpec: item.resolvedSpec,
      outputs: {},
      secretOutputs: null,
      secretOutputKeys: [],
      labels: {},
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      drift: null,
    });
    imported.push(item);
  }
  await tx.appendAudit({
    time: now,
    principal: "plinth",
    action: "import-recorded",
    target: `import/${record.id}`,
    details: { resources: imported.length, skipped: skipped.length - record.skipped.length },
  });
  return { ...record, status: "IMPORTED", items: imported, skipped };
}

/** Why a planned item is no longer imported, or undefined when it still is as planned. */
async function stillImportable(
  tx: StoreTx,
  plugin: LoadedPlugin,
  item: ImportItemRecord,
  now: ImportItemRecord | undefined,
): Promise<string | undefined> {
  const byName = await tx.getResource(plugin.definition.type, item.name);
  if (byName && byName.status !== "DELETED") return "came under management after the import was planned: left as it is";
  const byIdentity = await tx.findResourceByIdentity(plugin.definition.type, item.identity);
  if (byIdentity) return `came under management as "${byIdentity.name}" after the import was planned: left as it is`;
  if (!now) return "gone, or no longer importable, since the import was planned: import it again";
  if (JSON.stringify(now.resolvedSpec) !== JSON.stringify(item.resolvedSpec) || now.ownerTeam !== item.ownerTeam) {
    return "changed since the import was planned (reviewers approved another spec): import it again";
  }
  return undefined;
}
