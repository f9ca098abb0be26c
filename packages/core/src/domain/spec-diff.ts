import diff from "microdiff";
import type { Json, JsonObject, SpecDifference } from "./types.ts";

/** The differences between two resolved specs, by dotted path; undefined means "absent". */
export function specDifferences(
  before: JsonObject | null | undefined,
  after: JsonObject | null | undefined,
): SpecDifference[] {
  return diff(before ?? {}, after ?? {}).map((entry) => {
    const path = entry.path.join(".");
    switch (entry.type) {
      case "CREATE":
        return { path, op: "added", after: entry.value as Json };
      case "REMOVE":
        return { path, op: "removed", before: entry.oldValue as Json };
      case "CHANGE":
        return { path, op: "changed", before: entry.oldValue as Json, after: entry.value as Json };
    }
  });
}

/** Structural equality of JSON values, independent of key order. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  return diff(a as JsonObject, b as JsonObject).length === 0 && Array.isArray(a) === Array.isArray(b);
}

/** JSON with keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
