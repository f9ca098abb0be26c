import diff from "microdiff";

/** One difference between two specs, shaped like the API's `SpecDifference`. */
export interface SpecDifference {
  /** Dotted path, e.g. `config.retention.ms`; array items by index. */
  path: string;
  op: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

/** The differences from `before` to `after`; a missing spec counts as empty. */
export function diffSpecs(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): SpecDifference[] {
  return diff(before ?? {}, after ?? {}).map((d) => {
    const path = d.path.join(".");
    switch (d.type) {
      case "CREATE":
        return { path, op: "added", after: d.value as unknown };
      case "REMOVE":
        return { path, op: "removed", before: d.oldValue as unknown };
      case "CHANGE":
        return { path, op: "changed", before: d.oldValue as unknown, after: d.value as unknown };
    }
  });
}
