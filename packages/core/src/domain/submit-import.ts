import type { ImportRecord } from "../store/records.ts";
import { auditIdentity } from "./audit-identity.ts";
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from "./errors.ts";
import { type ImportRequest, checkImportRequest } from "./import-rules.ts";
import { isAdmin, teamsWithRole } from "./import-teams.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { observeImport } from "./observe-import.ts";
import { createResourceLookup } from "./ownership.ts";
import { checkQuotaOfMany, withOpenChanges } from "./team-quota.ts";
import type { Principal } from "./types.ts";

/**
 * `ImportResources`: checks the request (every bad field at once), checks
 * that the requester may hand resources to every team its rules name (its
 * own teams; an admin any), observes the scope and records the import for
 * review, or with `dryRun` returns the plan and records nothing. An import
 * that would take a receiving team over a quota is refused (RESOURCE_EXHAUSTED). The same
 * requester's same `requestId` returns the import already recorded.
 * Nothing on the real system changes.
 */
export async function submitImport(
  deps: LifecycleDeps,
  principal: Principal,
  request: ImportRequest,
): Promise<ImportRecord> {
  const { violations, plugin } = checkImportRequest(deps, request);
  if (violations.length > 0 || !plugin) throw new InvalidArgumentError(violations);
  const mine = teamsWithRole(principal, "requester");
  if (!isAdmin(principal)) {
    if (mine.length === 0) throw new PermissionDeniedError(`${principal.id} has no requester role and cannot import`);
    const foreign = request.rules
      .map((rule, index) => ({ rule, index }))
      .filter(({ rule }) => !mine.includes(rule.team));
    if (foreign.length > 0) {
      throw new PermissionDeniedError(
        `${principal.id} can import only into its own team(s) (${mine.join(", ")}); ` +
          foreign.map(({ rule, index }) => `rules.${index} gives "${rule.prefix}" to team ${rule.team}`).join("; ") +
          ": ask that team, or an admin, to import it",
      );
    }
  }
  if (request.requestId && !request.dryRun) {
    const earlier = await deps.store.findImportByRequest(principal.id, request.requestId);
    if (earlier) {
      if (earlier.type !== request.type || earlier.scope !== request.scope) {
        throw new InvalidArgumentError([
          {
            field: "request_id",
            reason: "REQUEST_ID_REUSED",
            description: `already names import ${earlier.id} of ${earlier.type} in ${earlier.scope}: use a new one`,
          },
        ]);
      }
      return earlier;
    }
  }
  const observed = await observeImport(deps.store, plugin, request.scope, request.rules);
  // Refused up front as a submitted change is; the approval that records the import checks again, under the quota locks.
  await checkQuotaOfMany(
    plugin,
    withOpenChanges(deps.store, createResourceLookup(deps.store)),
    observed.items.map((item) => ({ name: item.name, team: item.ownerTeam, spec: item.resolvedSpec })),
    request.dryRun ? "this import" : "the import",
  );
  const now = deps.now().toISOString();
  const record: ImportRecord = {
    id: request.dryRun ? "" : deps.newId(),
    requestedBy: principal.id,
    requestId: request.requestId || deps.newId(),
    type: request.type,
    scope: request.scope,
    status: "PENDING_REVIEW",
    comment: request.comment,
    rules: request.rules,
    items: observed.items,
    skipped: observed.skipped,
    reviews: [],
    createdAt: now,
    updatedAt: now,
  };
  if (request.dryRun) return record;
  if (record.items.length === 0) {
    throw new FailedPreconditionError(
      `nothing to import from ${request.type} in ${request.scope}: ${observed.skipped.length} item(s) skipped (run with dry_run to see why)`,
    );
  }
  return await deps.store.transact(async (tx) => {
    // The same request sent twice at once: the one that commits first is the import.
    const raced = await tx.findImportByRequest(principal.id, record.requestId);
    if (raced) return raced;
    await tx.insertImport(record);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "request-import",
      target: `import/${record.id}`,
      details: {
        type: record.type,
        scope: record.scope,
        resources: record.items.length,
        skipped: record.skipped.length,
        teams: [...new Set(record.items.map((item) => item.ownerTeam))],
        ...auditIdentity(principal),
      },
    });
    return record;
  });
}
