import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ImportItemRecord, ImportRecord, ImportSkipRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { emitNotification } from "../notifications/emit-notification.ts";
import { NotFoundError, ResourceExhaustedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { createResourceLookup } from "./ownership.ts";
import { checkQuotaOfMany, withOpenChanges } from "./team-quota.ts";

/*
 * How an approved import is recorded: in bounded batches, not one transaction.
 *
 * One transaction for 10,000 resources held every other writer up for seconds
 * (SQLite has one writer; on PostgreSQL it also held 10,000 resource locks at
 * once, against a lock table sized for about 64 per connection). So the approval
 * that completes an import only marks it RECORDING, with the approved items as
 * `pending`; then each batch of `limits.importBatchSize` items is one
 * transaction that records them (history, notification) and moves them to
 * `recorded`; the last one makes the import IMPORTED. A reader never sees an
 * import IMPORTED that is not whole. A batch is idempotent (it takes the
 * import's lock and re-reads what is pending), so the approval's own call, a
 * second ApproveImport and a server's resumer (at start and periodically: a
 * server stopped mid-way) may all drive it, and it converges.
 */

/** The label on the change that records an imported resource: the import's id. */
export const importLabel = "plinth/import";

/**
 * The completing approval's view: `planned` items still exactly as the fresh
 * listing shows them become `pending`; the others are skipped with the
 * reason. Pure: whether an item came under management meanwhile is judged
 * per batch, under that resource's lock.
 */
export function startRecording(planned: ImportRecord, observedNow: ImportItemRecord[], now: string): ImportRecord {
  const fresh = new Map(observedNow.map((item) => [item.name, item]));
  const pending: ImportItemRecord[] = [];
  const skipped: ImportSkipRecord[] = [...planned.skipped];
  for (const item of planned.items) {
    const seen = fresh.get(item.name);
    if (!seen)
      skipped.push({
        name: item.name,
        reason: "gone, or no longer importable, since the import was planned: import it again",
      });
    else if (
      JSON.stringify(seen.resolvedSpec) !== JSON.stringify(item.resolvedSpec) ||
      seen.ownerTeam !== item.ownerTeam
    ) {
      skipped.push({
        name: item.name,
        reason: "changed since the import was planned (reviewers approved another spec): import it again",
      });
    } else pending.push(item);
  }
  // `items` becomes what was approved, so that GetImport does not show a skipped item among them meanwhile.
  return { ...planned, status: "RECORDING", items: pending, skipped, pending, recorded: [], updatedAt: now };
}

/** The completing approval's quota check of everything it is about to record, under the teams' quota locks. */
export async function checkImportQuota(tx: StoreTx, plugin: LoadedPlugin, record: ImportRecord): Promise<void> {
  await checkQuotaOfMany(
    plugin,
    withOpenChanges(tx, createResourceLookup(tx)),
    (record.pending ?? []).map((item) => ({ name: item.name, team: item.ownerTeam, spec: item.resolvedSpec })),
    `import ${record.id}`,
    tx.lock?.bind(tx),
  );
}

/**
 * The recordings this process drives, by import id: the approval's call and the resumer share one instead of
 * queueing on the import's lock (PostgreSQL gives up a lock wait after `lockMs`, failing the one that waits).
 */
const driving = new Map<string, Promise<ImportRecord>>();

/** Records batches of import `id` until it is no longer RECORDING; returns it as it then is. */
export async function finishRecording(deps: LifecycleDeps, id: string): Promise<ImportRecord> {
  const running = driving.get(id);
  if (running) return await running;
  const run = (async () => {
    for (;;) {
      const record = await deps.store.transact((tx) => recordBatch(tx, deps, id));
      if (record.status !== "RECORDING") return record;
    }
  })();
  driving.set(id, run);
  try {
    return await run;
  } finally {
    driving.delete(id);
  }
}

/**
 * Finishes every import a server left RECORDING (stopped mid-way). Errors are
 * logged and left for the next call: the batches already committed stay.
 */
export async function resumeRecordingImports(
  deps: LifecycleDeps,
  logger: { warn(fields: object, message: string): void },
): Promise<void> {
  for (const id of await deps.store.recordingImports()) {
    try {
      await finishRecording(deps, id);
    } catch (error) {
      logger.warn({ err: error, importId: id }, "could not finish recording an approved import; tried again later");
    }
  }
}

/** One batch: the next pending items recorded, skipped if no longer importable; the last batch completes the import. */
async function recordBatch(tx: StoreTx, deps: LifecycleDeps, id: string): Promise<ImportRecord> {
  // Before any read: two drivers of one import take turns (SQLite runs one transaction at a time anyway).
  await tx.lock?.(JSON.stringify(["import", id]));
  const current = await tx.getImport(id);
  if (!current) throw new NotFoundError(`import "${id}" does not exist`);
  if (current.status !== "RECORDING") return current;
  const now = deps.now().toISOString();
  const pending = current.pending ?? [];
  const batch = pending.slice(0, Math.max(1, deps.limits.importBatchSize));
  const rest = pending.slice(batch.length);
  const skipped = [...current.skipped];
  const plugin = deps.plugins.get(current.type);
  const importable: ImportItemRecord[] = [];
  for (const item of batch) {
    const why = plugin
      ? await managedMeanwhile(tx, current.type, item)
      : `no plugin handles ${current.type} any more: import it again once one does`;
    if (why) skipped.push({ name: item.name, reason: why });
    else importable.push(item);
  }
  let recordedNow: ImportItemRecord[] = [];
  if (plugin && importable.length > 0) {
    try {
      // Checked at the approval for the whole import; again here, because a create of the team's may have
      // taken the room between batches. Then the rest of the batch is skipped, never recorded over quota.
      await checkQuotaOfMany(
        plugin,
        withOpenChanges(tx, createResourceLookup(tx)),
        importable.map((item) => ({ name: item.name, team: item.ownerTeam, spec: item.resolvedSpec })),
        `import ${id}`,
        tx.lock?.bind(tx),
      );
      recordedNow = importable;
    } catch (error) {
      if (!(error instanceof ResourceExhaustedError)) throw error;
      for (const item of importable) skipped.push({ name: item.name, reason: `not recorded: ${error.message}` });
    }
  }
  if (recordedNow.length > 0) await recordItems(tx, deps, current, recordedNow, now);
  const recorded = [...(current.recorded ?? []), ...recordedNow];
  if (rest.length > 0) {
    const record: ImportRecord = { ...current, pending: rest, recorded, skipped, updatedAt: now };
    await tx.updateImport(record);
    return record;
  }
  const record: ImportRecord = {
    ...current,
    status: "IMPORTED",
    items: recorded,
    skipped,
    pending: [],
    recorded: [],
    updatedAt: now,
  };
  await tx.updateImport(record);
  await tx.appendAudit({
    time: now,
    principal: "plinth",
    action: "import-recorded",
    target: `import/${id}`,
    details: { resources: recorded.length, skipped: skipped.length },
  });
  return record;
}

/** Why an approved item is not recorded after all: something of its name or identity came under management. */
async function managedMeanwhile(tx: StoreTx, type: string, item: ImportItemRecord): Promise<string | undefined> {
  const byName = await tx.getResource(type, item.name);
  if (byName && byName.status !== "DELETED") return "came under management after the import was planned: left as it is";
  const byIdentity = await tx.findResourceByIdentity(type, item.identity);
  if (byIdentity) return `came under management as "${byIdentity.name}" after the import was planned: left as it is`;
  return undefined;
}

/**
 * Records `items` as managed resources: revision 1 (or the next after a
 * deleted one of the name), READY, with a SUCCEEDED change that says who
 * imported and who approved it, so the import is in its history, and one
 * notification each. The change carries `importLabel` and no engine attempt:
 * the resource has no engine state until its first change, which takes the
 * existing thing over (see the plugin's `importSpec`).
 */
async function recordItems(
  tx: StoreTx,
  deps: LifecycleDeps,
  record: ImportRecord,
  items: ImportItemRecord[],
  now: string,
): Promise<void> {
  const approvedBy = [...new Set(record.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer))];
  // Subscriptions tied to a change cannot name these changes yet: the others, read once for the batch.
  const subscriptions = await tx.subscriptionsFor(null);
  for (const item of items) {
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
  }
}
