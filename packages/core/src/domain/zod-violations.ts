import type { z } from "zod";
import type { Violation } from "../plugin/define-plugin.ts";
import { closestName } from "./closest-name.ts";

/**
 * Turns a zod error into field violations under `prefix` (e.g. "spec"), in
 * words a caller acts on ("must be at least 1") rather than zod's own, with
 * a stable reason per kind of problem. With the schema, an unknown field
 * names the closest known one.
 */
export function zodViolations(error: z.ZodError, prefix: string, schema?: z.ZodType): Violation[] {
  return error.issues.flatMap((issue): Violation[] => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys") {
      const known = schema ? objectKeysAt(schema, issue.path) : [];
      return issue.keys.map((key) => {
        const close = closestName(key, known);
        return {
          field: `${path}.${key}`,
          reason: "UNKNOWN_FIELD",
          description:
            `is not a known field` +
            (close ? `; did you mean "${close}"?` : known.length > 0 ? ` (known: ${known.join(", ")})` : ""),
        };
      });
    }
    return [{ field: path, description: describeIssue(issue), reason: issue.code.toUpperCase() }];
  });
}

const amount = (value: number | bigint) =>
  typeof value === "bigint" ? value.toString() : value.toLocaleString("en-US", { maximumFractionDigits: 20 });

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const word = issue.code === "too_small" ? "least" : "most";
      const exclusive = issue.code === "too_small" ? "more than" : "less than";
      const limit = issue.inclusive === false ? `${exclusive} ${amount(bound)}` : `at ${word} ${amount(bound)}`;
      if (issue.origin === "string") return `must have ${limit} characters`;
      if (issue.origin === "array" || issue.origin === "set") return `must have ${limit} items`;
      return `must be ${limit}`;
    }
    case "invalid_value":
      return `must be one of: ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_type":
      return issue.expected === "int" ? "must be a whole number" : `must be a ${issue.expected}`;
    case "not_multiple_of":
      return `must be a multiple of ${amount(issue.divisor)}`;
    default:
      return issue.message;
  }
}

/** The field names of the object schema at `path` inside `schema`, through optional, default and array wrappers. */
function objectKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (value: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (value as { _zod?: { def?: { innerType?: unknown; in?: unknown; type?: string } } })?._zod?.def;
      if (!def) return value;
      if (def.innerType) value = def.innerType;
      else if (def.type === "pipe" && def.in) value = def.in;
      else return value;
    }
    return value;
  };
  for (const segment of path) {
    node = unwrap(node);
    const def = (node as { _zod: { def: { type: string; shape?: Record<string, unknown>; element?: unknown } } })._zod
      .def;
    if (def.type === "object" && def.shape) node = def.shape[String(segment)];
    else if (def.type === "array") node = def.element;
    else return [];
    if (!node) return [];
  }
  const def = (unwrap(node) as { _zod?: { def?: { type: string; shape?: Record<string, unknown> } } })?._zod?.def;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}
