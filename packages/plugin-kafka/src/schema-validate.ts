import type { Violation } from "@plinth/core";
import type { SchemaSettings } from "./schema-settings.ts";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";
import { schemaSyntaxViolations } from "./schema-syntax.ts";

/** The spec on its own (cluster known, schema text parses in its format) and the move from `previous` (the subject is fixed). */
export function validateSchema(
  next: ResolvedSchemaSpec,
  previous: ResolvedSchemaSpec | undefined,
  settings: SchemaSettings,
): Violation[] {
  const violations: Violation[] = [];
  if (!settings.registries[next.cluster]) {
    violations.push({
      field: "cluster",
      reason: "UNKNOWN_CLUSTER",
      description: `no schema registry is configured for cluster "${next.cluster}"; known: ${Object.keys(settings.registries).join(", ") || "none"}`,
    });
  }
  violations.push(...schemaSyntaxViolations(next));
  if (previous) {
    for (const key of ["cluster", "topic", "part", "subject"] as const) {
      if (previous[key] !== next[key]) {
        violations.push({
          field: key,
          reason: "IMMUTABLE",
          description: `cannot change from "${previous[key]}" to "${next[key]}": a subject stays with its topic; create another kafka.schema instead`,
          transition: true,
        });
      }
    }
  }
  return violations;
}
