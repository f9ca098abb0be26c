import type { ImportRecord } from "./records.ts";

/** The `imports` row's JSON body: everything but its keys and status. */
export function importBody(record: ImportRecord): string {
  return JSON.stringify({
    comment: record.comment,
    rules: record.rules,
    items: record.items,
    skipped: record.skipped,
    reviews: record.reviews,
    ...(record.status === "RECORDING" && { pending: record.pending ?? [], recorded: record.recorded ?? [] }),
  });
}

/** An `imports` row (both stores return it in the same shape) as a record. */
export function importFromRow(row: Record<string, unknown>): ImportRecord {
  const body = JSON.parse(row.body as string) as Pick<
    ImportRecord,
    "comment" | "rules" | "items" | "skipped" | "reviews" | "pending" | "recorded"
  >;
  return {
    id: row.id as string,
    requestedBy: row.requested_by as string,
    requestId: row.request_id as string,
    type: row.type as string,
    scope: row.scope as string,
    status: row.status as ImportRecord["status"],
    ...body,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}
