import { importLabel } from "../domain/record-import.ts";
import type { ResourceRecord } from "../store/records.ts";
import type { StoreReader } from "../store/store.ts";

/**
 * Whether the resource has no engine state yet: its applied revision is an
 * import's record, which no engine operation made. Its first change takes
 * the existing thing over (the plugin's `importSpec` makes sure); until then
 * a refreshing preview would only report the takeover, so drift is judged by
 * the bulk observation and `verify` alone.
 */
export async function awaitsEngineState(reader: StoreReader, resource: ResourceRecord): Promise<boolean> {
  if (resource.revision === 0) return false;
  const revision = await reader.getRevision(resource.type, resource.name, resource.revision);
  if (!revision) return false;
  const change = await reader.getChange(revision.changeId);
  return change?.labels[importLabel] !== undefined && change.attempts === 0;
}
