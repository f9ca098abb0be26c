import type { Json, SpecDifference } from "./types.ts";

/**
 * The risks a reviewer of a plan should not miss, read from the spec diff:
 * a deletion, a partition count that moves (keys map to other partitions),
 * a retention that gets shorter (data older than the new limit goes).
 * Whether the engine must replace a resource is known only from its preview,
 * which each member change computes for its reviewers (ChangePreview.destructive).
 */
export function planRisks(action: string, differences: SpecDifference[]): string[] {
  const risks = new Set<string>();
  if (action === "DELETE") risks.add("deletion");
  for (const difference of differences) {
    const leaf = difference.path.split(".").at(-1) ?? "";
    if (difference.op === "changed" && leaf === "partitions") risks.add("partition-change");
    if (/retention/i.test(leaf) && shorter(difference.before, difference.after)) risks.add("retention-cut");
  }
  return [...risks];
}

/** A retention limit got shorter; -1 (or absent) means unlimited. */
function shorter(before: Json | undefined, after: Json | undefined): boolean {
  const limit = (value: Json | undefined) => {
    const number = typeof value === "string" ? Number(value) : value;
    return typeof number === "number" && Number.isFinite(number) && number >= 0 ? number : Infinity;
  };
  return limit(after) < limit(before);
}
