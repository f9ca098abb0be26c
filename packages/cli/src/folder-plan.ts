import { Code, ConnectError } from "@connectrpc/connect";
import { ChangeKind, fieldViolations, ResourceStatus, type PlinthClient, type Resource } from "@plinth/sdk";
import { collectPages } from "./collect-pages.ts";
import type { FolderManifest } from "./manifest-folder.ts";
import { invalidManifest, type ManifestViolation } from "./read-manifest.ts";
import { applyRank, sourceLabel } from "./source-label.ts";
import { diffSpecs, type SpecDifference } from "./spec-diff.ts";

export type PlanAction = "create" | "update" | "delete" | "no-op";

/** What applying a folder would do to one resource. */
export interface PlanEntry {
  type: string;
  name: string;
  /** The folder's file; none for a resource prune would delete. */
  file?: string;
  action: PlanAction;
  /** The resolved spec's differences, as the server's PreviewResource reports them. */
  differences: SpecDifference[];
  /** Label differences (`labels.<key>`): PreviewResource judges the spec only. */
  labelDifferences: SpecDifference[];
  /** From PreviewResource; absent for a deletion, whose review the server decides when it is submitted. */
  requiredApprovals?: number;
  /** The review policy's and the plugin's reasons, from PreviewResource. */
  reviewReasons: string[];
  riskFlags: string[];
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
  entries: PlanEntry[];
  /** With --prune: how many live resources of the team carry this source's label. */
  labelled?: number;
}

// Calls in flight at once: enough to hide latency, few enough not to crowd a loaded server.
const concurrency = 8;

/**
 * Asks the server what applying `manifests` (and, with `prune`, deleting the
 * team's labelled resources the folder no longer holds) would do. Only reads:
 * PreviewResource per resource, GetResource for the current labels,
 * ListResources for prune. Every spec the server refuses is reported at once,
 * each field prefixed by its file, as one INVALID_ARGUMENT.
 */
export async function planFolder(
  client: PlinthClient,
  manifests: FolderManifest[],
  source: string,
  prune?: PruneOptions,
): Promise<FolderPlan> {
  const violations: ManifestViolation[] = [];
  const planned = await mapLimit(manifests, concurrency, async (manifest) => {
    try {
      return await planManifest(client, manifest, source);
    } catch (error) {
      const fields = fieldViolations(error);
      const bad = error instanceof ConnectError && [Code.InvalidArgument, Code.FailedPrecondition].includes(error.code);
      if (!bad) throw error;
      violations.push(
        ...(fields.length > 0 ? fields : [{ field: "", description: error.rawMessage }]).map((v) => ({
          field: v.field ? `${manifest.file}:${v.field}` : manifest.file,
          description: v.description,
        })),
      );
      return undefined;
    }
  });
  if (violations.length > 0) {
    throw invalidManifest(
      `the server refused ${manifests.length > 1 ? "manifests" : "the manifest"}: nothing was submitted`,
      violations,
    );
  }
  const me = await client.identity.whoAmI({});
  const entries = planned.filter((entry): entry is PlanEntry => entry !== undefined);
  const plan: FolderPlan = { source, team: me.team, entries };
  if (prune) {
    const { deletions, labelled } = await pruneEntries(client, me.team, manifests, source, prune);
    plan.entries.push(...deletions);
    plan.labelled = labelled;
  }
  plan.entries.sort((a, b) => orderOf(a) - orderOf(b) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  return plan;
}

/** Applies first, in dependency order; then deletions, in the reverse order (users before their topics). */
export function orderOf(entry: PlanEntry): number {
  return entry.action === "delete" ? 10 - applyRank(entry.type) : applyRank(entry.type);
}

async function planManifest(client: PlinthClient, manifest: FolderManifest, source: string): Promise<PlanEntry> {
  const [preview, current] = await Promise.all([
    client.resources.previewResource({ type: manifest.type, name: manifest.name, spec: manifest.spec as never }),
    currentResource(client, manifest.type, manifest.name),
  ]);
  const labels = { ...manifest.labels, [sourceLabel]: source };
  const labelDifferences = diffSpecs(current?.labels, labels).map((d) => ({ ...d, path: `labels.${d.path}` }));
  const action: PlanAction =
    preview.kind === ChangeKind.CREATE ? "create" : preview.noOp && labelDifferences.length === 0 ? "no-op" : "update";
  return {
    type: manifest.type,
    name: manifest.name,
    file: manifest.file,
    action,
    differences: preview.differences.map((d) => ({
      path: d.path,
      op: d.op as SpecDifference["op"],
      ...(d.before === undefined ? {} : { before: d.before }),
      ...(d.after === undefined ? {} : { after: d.after }),
    })),
    labelDifferences,
    requiredApprovals: action === "no-op" ? 0 : preview.requiredApprovals,
    reviewReasons: action === "no-op" ? [] : preview.reviewReasons,
    riskFlags: [],
    labels,
    manifest,
  };
}

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
    labels: r.labels,
  }));
  return { deletions, labelled: labelled.length };
}

async function currentResource(client: PlinthClient, type: string, name: string): Promise<Resource | undefined> {
  try {
    const { resource } = await client.resources.getResource({ type, name });
    return resource && resource.status !== ResourceStatus.DELETED ? resource : undefined;
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
    throw error;
  }
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
