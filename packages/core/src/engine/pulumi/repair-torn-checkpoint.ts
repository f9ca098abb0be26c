import { existsSync, readFileSync, readdirSync, copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stackLockDir } from "./stack-locks.ts";

/** Whether the file holds a JSON object (a checkpoint, or a metadata file), rather than nothing or half of one. */
function isCheckpoint(file: string): boolean {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null;
  } catch {
    return false;
  }
}

/**
 * A process killed while Pulumi's file backend writes a stack's checkpoint
 * can leave it empty or cut short ("failed to load checkpoint: EOF"), and
 * every later command on the stack then fails. Pulumi keeps the previous
 * checkpoint beside it (`.json.bak`) and older ones under `backups/`: put the
 * newest readable one back. Pulumi saves a checkpoint before each step it
 * starts, so the previous one is the state before the step that was cut
 * short, and the refresh that follows settles the rest.
 *
 * Called with the lease held, before the stack is selected. Returns the file
 * it restored from, or undefined when there was nothing to repair. File
 * backends only; other backends write checkpoints transactionally.
 */
export function repairTornCheckpoint(backendUrl: string, projectName: string, stackName: string): string | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  const root = join(fileURLToPath(backendUrl.split("?")[0]!), ".pulumi");
  const checkpoint = join(root, "stacks", projectName, `${stackName}.json`);
  if (!existsSync(checkpoint) || isCheckpoint(checkpoint)) return undefined;
  const backupDir = join(root, "backups", projectName, stackName);
  const backups = existsSync(backupDir)
    ? readdirSync(backupDir)
        .filter((file) => file.endsWith(".json"))
        .sort()
        .reverse()
        .map((file) => join(backupDir, file))
    : [];
  const source = [`${checkpoint}.bak`, ...backups].find((file) => existsSync(file) && isCheckpoint(file));
  if (!source) return undefined;
  copyFileSync(source, checkpoint);
  return source;
}

/**
 * The file backend keeps each file's metadata in a `.attrs` file beside it,
 * written in place after the file itself: a process killed in between leaves
 * it empty, and reading the checkpoint then fails with "failed to load
 * checkpoint: EOF" although the checkpoint is whole. A missing `.attrs` file
 * is read as "no metadata", so a torn one is removed. Covers the stack's
 * checkpoint, its `.bak` and its lock files.
 *
 * Called with the lease held, before the stack is selected. Returns the files
 * removed. File backends only.
 */
export function removeTornMetadata(backendUrl: string, projectName: string, stackName: string): string[] {
  if (!backendUrl.startsWith("file://")) return [];
  const root = join(fileURLToPath(backendUrl.split("?")[0]!), ".pulumi");
  const checkpoint = join(root, "stacks", projectName, `${stackName}.json`);
  const lockDir = stackLockDir(backendUrl, projectName, stackName)!;
  const locks = existsSync(lockDir)
    ? readdirSync(lockDir)
        .filter((file) => !file.endsWith(".attrs"))
        .map((file) => join(lockDir, file))
    : [];
  const torn = [checkpoint, `${checkpoint}.bak`, ...locks]
    .map((file) => `${file}.attrs`)
    .filter((attrs) => existsSync(attrs) && !isCheckpoint(attrs));
  for (const attrs of torn) rmSync(attrs);
  return torn;
}
