import type { Violation } from "@plinth/core";
import type { SchemaSettings } from "./schema-settings.ts";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

/** The spec on its own (cluster known, schema text parses) and the move from `previous` (the subject is fixed). */
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
  if (next.format !== "PROTOBUF") {
    try {
      JSON.parse(next.schema);
    } catch (error) {
      violations.push({
        field: "schema",
        reason: "SCHEMA_NOT_JSON",
        description: `a ${next.format === "AVRO" ? "Avro schema" : "JSON Schema"} is JSON text: ${(error as Error).message}`,
      });
    }
  }
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
