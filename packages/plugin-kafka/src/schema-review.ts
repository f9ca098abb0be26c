import type { ReviewDecision, ReviewInput } from "@plinth/core";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

export const schemaReviewPolicy =
  "Approved automatically: registering a schema the registry finds compatible (its check runs before the change " +
  "is recorded; an incompatible one is refused, or held for review when an admin overrides), changing the " +
  "compatibility level to anything but NONE, and a soft delete. One reviewer is needed to adopt an existing " +
  "subject, for compatibility NONE " +
  "(any schema goes, consumers may break), for setting deletion to hard, and for deleting a subject whose " +
  "deletion is hard (every version gone for good).";

/** One approval for an adoption, for NONE, for choosing hard deletion and for a hard delete; otherwise auto-approved. Pure. */
export function reviewSchema(input: ReviewInput<ResolvedSchemaSpec>): ReviewDecision {
  const { previous, next } = input;
  const reasons: string[] = [];
  if (!next) {
    if (previous?.deletion === "hard") {
      reasons.push(`hard delete of subject "${previous.subject}": every version is removed for good`);
    }
  } else {
    if (!previous && next.adopt) {
      reasons.push(
        `adopting subject "${next.subject}": if it already has versions in the registry, Plinth manages it from now ` +
          `on (what would change in the registry, if anything, is listed below)`,
      );
    }
    if (next.compatibility === "NONE" && previous?.compatibility !== "NONE") {
      reasons.push(`compatibility NONE: the registry accepts any next schema, consumers may break`);
    }
    if (next.deletion === "hard" && previous?.deletion !== "hard") {
      reasons.push(`deletion "hard": deleting this subject later removes every version for good`);
    }
  }
  if (reasons.length > 0) return { approvals: 1, reasons };
  return {
    approvals: 0,
    reasons: [
      next
        ? "a schema the registry's check accepts, at a level other than NONE"
        : "a soft delete, recoverable in the registry",
    ],
  };
}
