import { ChangeKind, ChangeSchema, ChangeStatus, type Change, type ChangeSet } from "@plinth/sdk";
import type { CliContext, Session } from "./cli-context.ts";
import { followChange } from "./follow-change.ts";
import { planFolder, type PlanEntry, type PruneOptions } from "./folder-plan.ts";
import { describeChange, messageJson } from "./format.ts";
import { readManifestFolder } from "./manifest-folder.ts";
import { ExitCode } from "./exit-codes.ts";

/** What apply did to one resource of the folder. */
interface Applied {
  type: string;
  name: string;
  file?: string;
  action: PlanEntry["action"];
  /** The resource was already as the folder says: no change was submitted. */
  noOp: boolean;
  change?: Change;
}

/**
 * `apply -f DIR [--plan ID]`: submits the folder as one change set
 * (SubmitChangeSet): one reviewed request, each resource its own change,
 * applied by the server in dependency order. Without `--plan` the folder is
 * read, checked and planned first (nothing is submitted if anything is
 * refused) and that very plan is submitted; with `--plan` the stored plan is
 * submitted exactly, refused if anything changed since. With `wait`, each
 * member is followed to its end in order; a failure stops there (the server
 * holds the later members: retry or cancel them).
 */
export async function applyFolder(
  ctx: CliContext,
  session: Session,
  dir: string,
  options: { source: string; wait: boolean; prune?: PruneOptions; planId?: string },
): Promise<void> {
  const { client, print } = session;
  let planId = options.planId;
  let entries: PlanEntry[] = [];
  let team = "";
  if (!planId) {
    const plan = await planFolder(client, await readManifestFolder(dir), options.source, options.prune);
    ({ planId, entries, team } = plan);
  }
  const changing = entries.filter((entry) => entry.action !== "no-op");
  let set: ChangeSet | undefined;
  if (options.planId || changing.length > 0) {
    const response = await client.changeSets.submitChangeSet({
      planId,
      requestId: crypto.randomUUID(),
      comment: `apply -f of source ${options.source}`,
    });
    set = response.changeSet!;
    team = set.team;
  }
  const members = new Map((set?.members ?? []).map((m) => [`${m.change!.type}/${m.change!.name}`, m.change!]));
  const results: Applied[] = options.planId
    ? [...members.values()].map((change) => ({
        type: change.type,
        name: change.name,
        action: kinds[change.kind] ?? "update",
        noOp: false,
        change,
      }))
    : entries.map((entry) => {
        const change = members.get(`${entry.type}/${entry.name}`);
        return { type: entry.type, name: entry.name, file: entry.file, action: entry.action, noOp: !change, change };
      });
  let stopped = false;
  if (options.wait) {
    for (const result of results) {
      if (!result.change) continue;
      result.change = await followChange(ctx, session, result.change.id);
      if (ctx.exitCode !== ExitCode.Ok || result.change.status !== ChangeStatus.SUCCEEDED) {
        stopped = true;
        print.error(
          `error: ${result.type}/${result.name} did not succeed; the server holds the change set's later members: ` +
            `retry it (plinth changes retry) or cancel them`,
        );
        break;
      }
    }
  }
  const resources = results.map(({ change, ...rest }) => ({
    ...rest,
    ...(change ? { change: messageJson(ChangeSchema, change) } : {}),
  }));
  print.result({ source: options.source, team, planId, changeSet: set?.id ?? "", stopped, resources }, () =>
    [
      ...results.map((r) => `${r.type}/${r.name}: ${describeResult(r)}\n`),
      set ? `change set ${set.id} (plan ${planId}): ${set.members.length} change(s)\n` : "no changes\n",
    ].join(""),
  );
}

const kinds: Partial<Record<ChangeKind, PlanEntry["action"]>> = {
  [ChangeKind.CREATE]: "create",
  [ChangeKind.UPDATE]: "update",
  [ChangeKind.DELETE]: "delete",
};

function describeResult(result: Applied): string {
  if (result.noOp || !result.change) return "no change";
  return describeChange(result.change);
}
