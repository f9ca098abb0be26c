import { toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { fieldViolations, PlanAction as ServerAction, ResourceStatus, type PlinthClient } from "@plinth/sdk";
import { collectPages } from "./collect-pages.ts";
import type { FolderManifest } from "./manifest-folder.ts";
import { invalidManifest, type ManifestViolation } from "./read-manifest.ts";
import { sourceLabel } from "./source-label.ts";
import type { SpecDifference } from "./spec-diff.ts";

export type PlanAction = "create" | "update" | "delete" | "no-op";

/** What applying a folder would do to one resource. */
export interface PlanEntry {
  type: string;
  name: string;
  /** The folder's file; none for a resource prune would delete. */
  file?: string;
  action: PlanAction;
  /** The resolved spec's differences, as the server's plan reports them. */
  differences: SpecDifference[];
  /** Label differences (`labels.<key>`). */
  labelDifferences: SpecDifference[];
  /** Approvals the change will need, from the server's plan. */
  requiredApprovals?: number;
  /** The review policy's and the plugin's reasons. */
  reviewReasons: string[];
  /** "deletion", "partition-change", "retention-cut". */
  riskFlags: string[];
  /** Teams a reviewer of which must approve. */
  approvingTeams: string[];
  /** Dependency order: lower applies first. */
  order?: number;
  /** The labels the resource will carry: the file's plus the source label. */
  labels: Record<string, string>;
  manifest?: FolderManifest;
}

export interface PruneOptions {
  /** The largest share of the source's labelled resources one prune may delete. */
  maxShare: number;
  allowMassDelete: boolean;
}

export interface FolderPlan {
  source: string;
  /** The caller's team: the only one prune looks at. */
  team: string;
  /** The server's id of this plan, for `apply --plan`; empty when nothing changes. */
  planId: string;
  entries: PlanEntry[];
  /** With --prune: how many live resources of the team carry this source's label. */
  labelled?: number;
}

/**
 * Asks the server for one plan of the folder (PlanChangeSet): per resource
 * what applying it would do (and, with `prune`, deleting the team's labelled
 * resources the folder no longer holds), with the approvals it needs, stored
 * under a plan id that `apply --plan` submits exactly. Every spec the server
 * refuses is reported at once, each field prefixed by its file, as one
 * INVALID_ARGUMENT; an entry it would refuse (a guardrail, a quota, another
 * team's resource) likewise, and then there is no plan id.
 */
export async function planFolder(
  client: PlinthClient,
  manifests: FolderManifest[],
  source: string,
  prune?: PruneOptions,
): Promise<FolderPlan> {
  const me = await client.identity.whoAmI({});
  const candidates: PlanEntry[] = manifests.map((manifest) => ({
    type: manifest.type,
    name: manifest.name,
    file: manifest.file,
    action: "create",
    differences: [],
    labelDifferences: [],
    reviewReasons: [],
    riskFlags: [],
    approvingTeams: [],
    labels: { ...manifest.labels, [sourceLabel]: source },
    manifest,
  }));
  let labelled: number | undefined;
  if (prune) {
    const pruning = await pruneEntries(client, me.team, manifests, source, prune);
    candidates.push(...pruning.deletions);
    labelled = pruning.labelled;
  }
  const where = (at: number) => candidates[at]?.file ?? `${candidates[at]?.type}/${candidates[at]?.name}`;
  let response;
  try {
    response = await client.changeSets.planChangeSet({
      entries: candidates.map((entry) => ({
        type: entry.type,
        name: entry.name,
        labels: entry.action === "delete" ? {} : entry.labels,
        spec: entry.manifest?.spec as never,
        delete: entry.action === "delete",
      })),
    });
  } catch (error) {
    if (!(error instanceof ConnectError) || error.code !== Code.InvalidArgument) throw error;
    const violations: ManifestViolation[] = fieldViolations(error).map((v) => {
      const [, at, rest] = /^entries\[(\d+)\]\.?(.*)$/.exec(v.field) ?? [];
      return {
        field: at === undefined ? v.field : rest ? `${where(Number(at))}:${rest}` : where(Number(at)),
        description: v.description,
      };
    });
    throw invalidManifest(
      `the server refused ${manifests.length > 1 ? "manifests" : "the manifest"}: nothing was submitted`,
      violations,
    );
  }
  const refused = response.changes.flatMap((change, at) =>
    change.refusal ? [{ field: where(at), description: change.refusal }] : [],
  );
  if (refused.length > 0)
    throw invalidManifest("the server would refuse these resources: nothing was submitted", refused);
  const entries = response.changes.map((change, at): PlanEntry => ({
    ...candidates[at]!,
    action: actions[change.action] ?? "no-op",
    differences: change.differences.map(toDifference),
    labelDifferences: change.labelDifferences.map(toDifference),
    requiredApprovals: change.requiredApprovals,
    reviewReasons: change.reviewReasons,
    riskFlags: change.risks,
    approvingTeams: change.approvingTeams,
    order: change.order,
  }));
  entries.sort(
    (a, b) => (a.order ?? 0) - (b.order ?? 0) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name),
  );
  return {
    source,
    team: me.team,
    planId: response.planId,
    entries,
    ...(labelled === undefined ? {} : { labelled }),
  };
}

const actions: Partial<Record<ServerAction, PlanAction>> = {
  [ServerAction.CREATE]: "create",
  [ServerAction.UPDATE]: "update",
  [ServerAction.DELETE]: "delete",
  [ServerAction.NO_OP]: "no-op",
};

const toDifference = (d: { path: string; op: string; before?: Value; after?: Value }): SpecDifference => ({
  path: d.path,
  op: d.op as SpecDifference["op"],
  ...(d.before === undefined ? {} : { before: toJson(ValueSchema, d.before) as never }),
  ...(d.after === undefined ? {} : { after: toJson(ValueSchema, d.after) as never }),
});

/**
 * The resources prune would delete: live, owned by `team`, labelled with
 * this source, and not in the folder. Refused as a whole when that is more
 * than `maxShare` of the labelled ones, unless mass deletion is allowed.
 */
async function pruneEntries(
  client: PlinthClient,
  team: string,
  manifests: FolderManifest[],
  source: string,
  options: PruneOptions,
): Promise<{ deletions: PlanEntry[]; labelled: number }> {
  const inFolder = new Set(manifests.map((m) => `${m.type}/${m.name}`));
  const { items } = await collectPages(Number.MAX_SAFE_INTEGER, async (pageSize, pageToken) => {
    const page = await client.resources.listResources({ team, pageSize, pageToken });
    return { items: page.resources, nextPageToken: page.nextPageToken };
  });
  // The team filter is the server's; the owner is checked again here, so a resource of another team never
  // becomes a candidate whatever its labels say (the server would refuse its deletion anyway).
  const labelled = items.filter(
    (r) => r.ownerTeam === team && r.status !== ResourceStatus.DELETED && r.labels[sourceLabel] === source,
  );
  const gone = labelled.filter((r) => !inFolder.has(`${r.type}/${r.name}`));
  if (gone.length > options.maxShare * labelled.length && !options.allowMassDelete) {
    throw new ConnectError(
      `prune would delete ${gone.length} of the ${labelled.length} resources labelled ${sourceLabel}=${source} ` +
        `(more than --max-prune-share ${options.maxShare}); check the folder and --source, or pass --allow-mass-delete`,
      Code.FailedPrecondition,
    );
  }
  const deletions = gone.map((r): PlanEntry => ({
    type: r.type,
    name: r.name,
    action: "delete",
    differences: [],
    labelDifferences: [],
    // Deletions keep their normal review; the server decides it when they are submitted.
    reviewReasons: [],
    riskFlags: ["deletion"],
    approvingTeams: [],
    labels: r.labels,
  }));
  return { deletions, labelled: labelled.length };
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
