import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Command } from "commander";
import { ChangeKind, type Resource, type ResourceService } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { parseRevision } from "../parse-options.ts";
import { diffSpecs, type SpecDifference } from "../spec-diff.ts";
import { UsageError } from "../usage-error.ts";

interface DiffFlags {
  from?: bigint;
  to?: bigint;
  change?: string;
  requested?: boolean;
}

interface Side {
  label: string;
  spec: JsonObject | undefined;
}

/**
 * `plinth diff TYPE NAME`: what changed between two revisions (default: the
 * latest and the one before), or what a change would change (`--change`).
 */
export function registerDiffCommand(program: Command, ctx: CliContext): void {
  program
    .command("diff")
    .description("diff two revisions of a resource, or a change's spec against the current one")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .option("--from <n>", "older revision (default: the one before --to; 0 = nothing)", parseRevision)
    .option("--to <n>", "newer revision (default: the latest)", parseRevision)
    .option("--change <id>", "diff this change's spec against the current revision")
    .option("--requested", "diff the specs as written rather than as resolved by the plugin's defaults")
    .action(async (type: string, name: string, flags: DiffFlags, command: Command) => {
      if (flags.change !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
        throw new UsageError("--change cannot be combined with --from or --to");
      }
      const { client, print } = openSession(ctx, command);
      const pick = (s: { spec?: JsonObject; resolvedSpec?: JsonObject }) =>
        flags.requested ? s.spec : (s.resolvedSpec ?? s.spec);
      let before: Side;
      let after: Side;
      let plan: string | undefined;
      let planJson: unknown;
      if (flags.change !== undefined) {
        const { change } = await client.changes.getChange({ id: flags.change });
        if (!change) {
          throw new ConnectError(`the server returned no change ${flags.change}`, Code.Internal);
        }
        const current = await currentResource(client.resources, type, name);
        before = { label: `revision ${current?.revision ?? 0n} (current)`, spec: current ? pick(current) : undefined };
        after = { label: `change ${change.id}`, spec: change.kind === ChangeKind.DELETE ? undefined : pick(change) };
        if (change.preview) {
          planJson = { steps: change.preview.steps, destructive: change.preview.destructive };
          plan = describePlan(change.preview.steps, change.preview.destructive, change.preview.details);
        } else {
          plan =
            "engine preview: not computed yet (it runs when the change reaches the head of its resource's queue)\n";
        }
      } else {
        const to = flags.to ?? (await client.get(type, name)).revision;
        const from = flags.from ?? (to > 0n ? to - 1n : 0n);
        if (to === 0n) {
          throw new UsageError(`${type}/${name} has no revision yet`);
        }
        before = { label: `revision ${from}`, spec: from === 0n ? undefined : await revisionSpec(from) };
        after = { label: `revision ${to}`, spec: await revisionSpec(to) };
      }
      const differences = diffSpecs(before.spec, after.spec);
      print.result(
        { type, name, from: before.label, to: after.label, differences, preview: planJson },
        () => `${renderDiff(type, name, before, after, differences)}${plan ?? ""}`,
      );

      async function revisionSpec(revision: bigint): Promise<JsonObject | undefined> {
        const response = await client.resources.getRevision({ type, name, revision });
        return response.revision && !response.revision.deleted ? pick(response.revision) : undefined;
      }
    });
}

async function currentResource(
  resources: Client<typeof ResourceService>,
  type: string,
  name: string,
): Promise<Resource | undefined> {
  try {
    return (await resources.getResource({ type, name })).resource;
  } catch (error) {
    // A change that creates the resource is diffed against nothing.
    if (error instanceof ConnectError && error.code === Code.NotFound) {
      return undefined;
    }
    throw error;
  }
}

function renderDiff(type: string, name: string, before: Side, after: Side, differences: SpecDifference[]): string {
  const lines = [`--- ${type}/${name} ${before.label}`, `+++ ${type}/${name} ${after.label}`];
  if (differences.length === 0) {
    lines.push("no differences");
  }
  for (const d of differences) {
    switch (d.op) {
      case "added":
        lines.push(`+ ${d.path}: ${JSON.stringify(d.after)}`);
        break;
      case "removed":
        lines.push(`- ${d.path}: ${JSON.stringify(d.before)}`);
        break;
      case "changed":
        lines.push(`~ ${d.path}: ${JSON.stringify(d.before)} -> ${JSON.stringify(d.after)}`);
        break;
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The engine's plan in a few lines; destructive plans are flagged loudly. */
function describePlan(steps: Record<string, number>, destructive: boolean, details: JsonObject | undefined): string {
  const counts =
    Object.entries(steps)
      .map(([op, n]) => `${op} ${n}`)
      .join(", ") || "no changes";
  const lines = [
    `engine preview: ${counts}${destructive ? "  ** DESTRUCTIVE: replaces or deletes a stateful resource **" : ""}`,
  ];
  const changes = Array.isArray(details?.changes) ? details.changes : [];
  for (const entry of changes) {
    if (entry && typeof entry === "object" && !Array.isArray(entry)) {
      const keys = Array.isArray(entry.replaceKeys) ? ` (replaced because of ${entry.replaceKeys.join(", ")})` : "";
      const diffs = Array.isArray(entry.diffs) ? ` [${entry.diffs.join(", ")}]` : "";
      lines.push(`  ${String(entry.op)} ${String(entry.type ?? "")} ${String(entry.name ?? "")}${diffs}${keys}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
