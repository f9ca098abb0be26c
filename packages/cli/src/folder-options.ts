import { InvalidArgumentError, type Command } from "commander";
import type { PruneOptions } from "./folder-plan.ts";

/** The options `apply -f DIR` and `plan -f DIR` share. */
export interface FolderFlags {
  source?: string;
  prune?: boolean;
  maxPruneShare: number;
  allowMassDelete?: boolean;
}

/** Adds the folder options to `command`; `verb` says what prune does there ("delete" or "show"). */
export function addFolderOptions(command: Command, verb: "delete" | "show"): void {
  command
    .option("--source <name>", "the folder's source label value plinth/source=<name> (default: the folder's base name)")
    .option(
      "--prune",
      `${verb} your team's resources labelled with this source that the folder no longer holds (deletions are reviewed)`,
    )
    .option(
      "--max-prune-share <share>",
      "refuse a prune of more than this share of the source's resources (0 to 1)",
      parseShare,
      0.25,
    )
    .option("--allow-mass-delete", "prune even more than --max-prune-share");
}

/** The source name and prune options the flags give, for a folder whose default source is `defaultSource`. */
export function folderOptions(flags: FolderFlags, defaultSource: string): { source: string; prune?: PruneOptions } {
  const source = flags.source ?? defaultSource;
  const prune = flags.prune
    ? { maxShare: flags.maxPruneShare, allowMassDelete: flags.allowMassDelete === true }
    : undefined;
  return { source, prune };
}

function parseShare(value: string): number {
  const share = Number(value);
  if (value.trim() === "" || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.25.");
  }
  return share;
}
