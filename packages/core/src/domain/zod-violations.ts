import type { z } from "zod";
import type { Violation } from "../plugin/define-plugin.ts";

/** Turns a zod error into field violations under `prefix` (e.g. "spec"). */
export function zodViolations(error: z.ZodError, prefix: string): Violation[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    const keys = "keys" in issue && Array.isArray(issue.keys) ? issue.keys : [];
    if (issue.code === "unrecognized_keys" && keys.length > 0) {
      return {
        field: `${path}.${String(keys[0])}`,
        description: `is not a known field (${issue.message})`,
        reason: "UNKNOWN_FIELD",
      };
    }
    return { field: path, description: issue.message, reason: issue.code.toUpperCase() };
  });
}
