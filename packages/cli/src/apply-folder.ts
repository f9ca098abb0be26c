import { ChangeSchema, type Change } from "@plinth/sdk";
import type { CliContext, Session } from "./cli-context.ts";
import { followChange } from "./follow-change.ts";
import { orderOf, mapLimit, planFolder, type PlanEntry, type PruneOptions } from "./folder-plan.ts";
import { describeChange, messageJson } from "./format.ts";
import { readManifestFolder } from "./manifest-folder.ts";
import { ExitCode } from "./exit-codes.ts";

/** What apply did to one resource of the folder. */
interface Applied {
  type: string;
  name: string;
  file?: string;
  action: PlanEntry["action"];
  /** The server's answer: the resource was already as the folder says. */
  noOp: boolean;
  change?: Change;
}

// Submissions in flight at once within one dependency tier.
const concurrency = 4;

/**
 * `apply -f DIR`: reads and checks every file, asks the server to judge every
 * spec (nothing is submitted if one is refused), then submits each resource
 * with the source label, tier by tier in dependency order, and with `prune`
 * the deletions last. With `wait`, each tier's changes are followed to their
 * end before the next tier is submitted, and a failure stops the rest.
 */
export async function applyFolder(
  ctx: CliContext,
  session: Session,
  dir: string,
  options: { source: string; wait: boolean; prune?: PruneOptions },
): Promise<void> {
  const { client, print } = session;
  const manifests = await readManifestFolder(dir);
  const plan = await planFolder(client, manifests, options.source, options.prune);
  const results: Applied[] = [];
  const tiers = new Map<number, PlanEntry[]>();
  for (const entry of plan.entries) tiers.set(orderOf(entry), [...(tiers.get(orderOf(entry)) ?? []), entry]);
  let stopped = false;
  for (const order of [...tiers.keys()].sort((a, b) => a - b)) {
    const tier = await mapLimit(tiers.get(order)!, concurrency, (entry) => submit(entry));
    results.push(...tier);
    if (options.wait) {
      for (const result of tier) {
        if (result.change) result.change = await followChange(ctx, session, result.change.id);
      }
      if (ctx.exitCode !== ExitCode.Ok) {
        stopped = true;
        print.error("error: a change did not succeed; the resources after it in dependency order were not submitted");
        break;
      }
    }
  }
  const resources = results.map(({ change, ...rest }) => ({
    ...rest,
    ...(change ? { change: messageJson(ChangeSchema, change) } : {}),
  }));
  print.result({ source: options.source, team: plan.team, stopped, resources }, () =>
    results.map((r) => `${r.type}/${r.name}: ${describeResult(r)}\n`).join(""),
  );

  async function submit(entry: PlanEntry): Promise<Applied> {
    const base = { type: entry.type, name: entry.name, file: entry.file, action: entry.action };
    if (entry.action === "delete") {
      const response = await client.delete(entry.type, entry.name, {
        comment: `pruned: no longer in the folder of source ${options.source}`,
      });
      return { ...base, noOp: false, change: response.change };
    }
    const manifest = entry.manifest!;
    // Every resource goes to the server, no-ops too: the server, not the plan, decides there is nothing to do.
    const response = await client.apply(entry.type as never, entry.name, manifest.spec as never, {
      comment: manifest.comment,
      labels: entry.labels,
    });
    return { ...base, noOp: response.noOp, change: response.noOp ? undefined : response.change };
  }
}

function describeResult(result: Applied): string {
  if (result.noOp || !result.change) return "no change";
  return describeChange(result.change);
}
