import type { Command } from "commander";
import { openSession, type CliContext } from "../cli-context.ts";
import { PlanExitCode } from "../exit-codes.ts";
import { addFolderOptions, folderOptions, type FolderFlags } from "../folder-options.ts";
import { planFolder, type FolderPlan, type PlanEntry } from "../folder-plan.ts";
import { folderSourceName, isFolder, readManifestFolder } from "../manifest-folder.ts";
import type { SpecDifference } from "../spec-diff.ts";
import { UsageError } from "../usage-error.ts";

interface PlanFlags extends FolderFlags {
  file: string;
  output?: string;
}

/**
 * `plinth plan -f DIR`: what `apply -f DIR` would do, resource by resource,
 * without submitting anything. Exits like `terraform plan -detailed-exitcode`:
 * 0 no changes, 2 changes, 1 any error (see {@link PlanExitCode}).
 */
export function registerPlanCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command("plan")
    .description("show what apply -f DIR would create, update, delete or leave; submits nothing")
    .requiredOption("-f, --file <dir>", "a folder of YAML or JSON manifests")
    .option("--output <format>", "text (default) or json (the same as --json)")
    // Any error, a usage error too, is exit 1 here: 2 means "changes" to a pipeline.
    .exitOverride((error) => {
      throw Object.assign(error, { planExitCode: error.exitCode === 0 ? 0 : PlanExitCode.Error });
    });
  addFolderOptions(command, "show");
  command.action(async (flags: PlanFlags, invoked: Command) => {
    ctx.errorExitCode = PlanExitCode.Error;
    if (flags.output !== undefined && !["text", "json"].includes(flags.output)) {
      throw new UsageError(`--output: expected text or json, not "${flags.output}"`);
    }
    if (!(await isFolder(flags.file))) throw new UsageError(`-f: ${flags.file} is not a folder`);
    const session = openSession(ctx, invoked, flags.output === "json");
    const manifests = await readManifestFolder(flags.file);
    const { source, prune } = folderOptions(flags, folderSourceName(flags.file));
    const plan = await planFolder(session.client, manifests, source, prune);
    const changes = plan.entries.filter((entry) => entry.action !== "no-op").length;
    ctx.exitCode = changes > 0 ? PlanExitCode.Changes : PlanExitCode.NoChanges;
    session.print.result(planJson(plan), () => renderPlan(plan));
  });
}

function planJson(plan: FolderPlan): unknown {
  return {
    planId: plan.planId,
    source: plan.source,
    team: plan.team,
    ...(plan.labelled === undefined ? {} : { labelled: plan.labelled }),
    summary: summary(plan),
    resources: plan.entries.map(({ manifest: _manifest, ...entry }) => entry),
  };
}

function summary(plan: FolderPlan): Record<PlanEntry["action"], number> {
  const counts = { create: 0, update: 0, delete: 0, "no-op": 0 };
  for (const entry of plan.entries) counts[entry.action] += 1;
  return counts;
}

const symbols: Record<PlanEntry["action"], string> = { create: "+", update: "~", delete: "-", "no-op": "=" };

function renderPlan(plan: FolderPlan): string {
  const lines: string[] = [];
  for (const entry of plan.entries) {
    const where = entry.file ? `  (${entry.file})` : "";
    lines.push(`${symbols[entry.action]} ${entry.type}/${entry.name}: ${entry.action}${where}`);
    for (const d of [...entry.differences, ...entry.labelDifferences]) lines.push(`    ${describeDifference(d)}`);
    if (entry.requiredApprovals) {
      const from = entry.approvingTeams.length > 0 ? ` (from ${entry.approvingTeams.join(", ")})` : "";
      lines.push(`    needs ${entry.requiredApprovals} approval(s)${from}`);
    }
    for (const risk of entry.riskFlags.filter((r) => r !== "deletion")) lines.push(`    ** risk: ${risk} **`);
    for (const reason of entry.reviewReasons) lines.push(`    review: ${reason}`);
    if (entry.action === "delete") lines.push("    ** deletion: reviewed as any deletion is **");
  }
  const counts = summary(plan);
  const pruned = plan.labelled === undefined ? "" : `, of ${plan.labelled} labelled plinth/source=${plan.source}`;
  lines.push(
    `plan for source ${plan.source} (team ${plan.team}): ${counts.create} to create, ${counts.update} to update, ` +
      `${counts.delete} to delete${pruned}, ${counts["no-op"]} unchanged`,
  );
  if (plan.planId) lines.push(`plan id: ${plan.planId} (plinth apply -f DIR --plan ${plan.planId}; kept 24 hours)`);
  return `${lines.join("\n")}\n`;
}

function describeDifference(d: SpecDifference): string {
  switch (d.op) {
    case "added":
      return `+ ${d.path}: ${JSON.stringify(d.after)}`;
    case "removed":
      return `- ${d.path}: ${JSON.stringify(d.before)}`;
    case "changed":
      return `~ ${d.path}: ${JSON.stringify(d.before)} -> ${JSON.stringify(d.after)}`;
  }
}
