import { StartupCheckError } from "../server/startup-check-error.ts";
import type { ResourceRecord } from "../store/records.ts";
import type { StoreReader } from "../store/store.ts";
import { awaitsEngineState } from "./engine-state.ts";

/** Applied resources looked at: enough to tell a lost backend from a stack or two gone astray. */
const sampleSize = 20;
/** Resources read per page, and pages read at most, while collecting the sample (deleted ones are passed over). */
const pageSize = 100;
const maxPages = 10;

/** The engine's stack name of a resource, as the worker and reconciler name it. */
const stackNameOf = (resource: Pick<ResourceRecord, "type" | "name">): string => `${resource.type}--${resource.name}`;

/**
 * Refuses a start whose Pulumi backend holds none of the stacks of the
 * resources the store says are applied: the backend is not the one those
 * resources were applied through. The usual cause is a PostgreSQL restore
 * under another database name (Pulumi's postgres backend files its keys
 * under the database's name, so it finds no stack there), or a SQLite data
 * dir restored without its Pulumi state. A replica that started anyway would
 * try to create again what exists, and fail every change to those resources.
 *
 * Cheap: a sample of at most 20 applied resources from the first pages of
 * the store, checked against `stacks` (the names the backend lists, which
 * the backend check at start has already read). The first sampled resource
 * that has its stack ends the check. Resources imported and not changed
 * since have no stack yet, and do not count.
 */
export async function checkStacksPresent(reader: StoreReader, stacks: ReadonlySet<string>): Promise<void> {
  const missing: ResourceRecord[] = [];
  let pageToken = "";
  for (let page = 0; page < maxPages && missing.length < sampleSize; page++) {
    const listed = await reader.listResources({}, pageSize, pageToken);
    for (const resource of listed.items) {
      if (resource.revision === 0 || resource.status === "DELETED") continue;
      if (stacks.has(stackNameOf(resource))) return;
      if (await awaitsEngineState(reader, resource)) continue;
      missing.push(resource);
      if (missing.length === sampleSize) break;
    }
    pageToken = listed.nextPageToken;
    if (!pageToken) break;
  }
  if (missing.length === 0) return;
  const named = missing
    .slice(0, 3)
    .map((resource) => `${resource.type} ${resource.name}`)
    .join(", ");
  throw new StartupCheckError(
    `the Pulumi state backend has no stack for the resources the store holds as applied (${named}; ` +
      `none of ${missing.length} checked): point engine.backendUrl at the backend they were applied through, ` +
      "or, after a PostgreSQL restore under another database name, move Pulumi's state to the new name " +
      "(docs/operating.md, Backup and restore)",
  );
}
