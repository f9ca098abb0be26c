import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unconfirmedMark } from "./recover-stack.ts";

interface FileCheckpoint {
  checkpoint?: {
    latest?: {
      resources?: Array<{ outputs?: Record<string, unknown> }>;
      pending_operations?: unknown[];
    };
  };
}

/**
 * Whether a stack's state may need `recoverStack`, read straight from the
 * file backend's checkpoint instead of a `pulumi stack export` (a CLI start,
 * seconds under load, on every apply). False only when that is certain: the
 * stack has no checkpoint at all (never applied), or its checkpoint is whole
 * and has neither pending operations nor an adoption still to confirm.
 * Undefined for other backends, a compressed or unreadable checkpoint:
 * then recovery asks the CLI as before.
 *
 * Called with the lease held, after a torn checkpoint was repaired.
 */
export function checkpointNeedsRecovery(
  backendUrl: string,
  projectName: string,
  stackName: string,
): boolean | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  const stacks = join(fileURLToPath(backendUrl.split("?")[0]!), ".pulumi", "stacks", projectName);
  const file = join(stacks, `${stackName}.json`);
  if (!existsSync(file)) return existsSync(`${file}.gz`) ? undefined : false;
  let parsed: FileCheckpoint;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as FileCheckpoint;
  } catch {
    return undefined;
  }
  const latest = parsed.checkpoint?.latest;
  if (!latest) return false;
  if ((latest.pending_operations ?? []).length > 0) return true;
  return (latest.resources ?? []).some((resource) => resource.outputs?.[unconfirmedMark] === true);
}
