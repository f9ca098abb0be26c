import type { ReviewDecision, ReviewInput } from "@plinth/core";
import { guardrailViolations } from "./database-guardrails.ts";
import type { DatabaseSpec } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

export const databaseReviewPolicy =
  "Creates and updates within the instance's guardrails are approved automatically, password rotations included " +
  "(the credential is the owning team's). One reviewer is needed to delete a database (its data and its owner " +
  "role go with it), to remove an extension (DROP EXTENSION), to remove deletion protection, or to go above the " +
  "instance's connection limit guardrail (admins only).";

/** One reason a change needs a reviewer; `code` is stable for machines, `reason` is for people. */
export interface ReviewFinding {
  code: string;
  reason: string;
}

function updateFindings(previous: DatabaseSpec, next: DatabaseSpec): ReviewFinding[] {
  const findings: ReviewFinding[] = [];
  const removed = previous.extensions.filter((extension) => !next.extensions.includes(extension));
  if (removed.length > 0) {
    findings.push({
      code: "EXTENSION_REMOVED",
      reason: `removing extension(s) ${removed.join(", ")} runs DROP EXTENSION in "${next.database}" (refused by PostgreSQL while objects use them)`,
    });
  }
  if (previous.protect && !next.protect) {
    findings.push({ code: "PROTECTION_REMOVED", reason: "removing deletion protection makes the database deletable" });
  }
  return findings;
}

/** Why a database change needs a reviewer; empty = auto-approve. Pure. */
export function databaseReviewFindings(input: ReviewInput<DatabaseSpec>, settings: PostgresSettings): ReviewFinding[] {
  const { previous, next } = input;
  if (!next) {
    const database = previous?.database ?? input.name;
    const findings = [
      {
        code: "DELETE",
        reason: `deleting "${input.name}" drops database "${database}" with all its data, and its owner role`,
      },
    ];
    if (previous?.protect) findings.push({ code: "PROTECTED", reason: `"${input.name}" is protected` });
    return findings;
  }
  const findings = previous ? updateFindings(previous, next) : [];
  const instance = settings.instances[next.instance];
  // Validate refuses these; they reach review only through an admin's override.
  for (const violation of instance ? guardrailViolations(next, previous, instance) : []) {
    findings.push({ code: violation.reason ?? "GUARDRAIL", reason: `${violation.field}: ${violation.description}` });
  }
  return findings;
}

/** One approval when any finding applies, with one reason each; otherwise auto-approved with the reason why. */
export function reviewDatabase(input: ReviewInput<DatabaseSpec>, settings: PostgresSettings): ReviewDecision {
  const findings = databaseReviewFindings(input, settings);
  if (findings.length > 0) return { approvals: 1, reasons: findings.map((finding) => finding.reason) };
  const what = input.kind === "CREATE" ? "a create" : "a change";
  return { approvals: 0, reasons: [`${what} within the guardrails of instance "${input.next?.instance}"`] };
}
