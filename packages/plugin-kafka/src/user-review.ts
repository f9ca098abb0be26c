import type { ReviewDecision, ReviewInput } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import type { ReviewFinding } from "./topic-review.ts";
import { type UserAcl, aclKey, describeAcl, userAcls } from "./user-acls.ts";
import type { UserSpec } from "./user-spec.ts";
import { userGuardrailViolations } from "./user-validate.ts";

export const userReviewPolicy =
  "Approved automatically: creating or changing a user whose new grants only read topics of a prefix (with its " +
  "own consumer groups of a prefix), narrowing access, rotating the password, and deleting the user: a team " +
  "revokes or rotates its own credentials without waiting, which is what a leaked password calls for. One " +
  "reviewer is needed for each new grant to write (a writer can corrupt what other teams consume), any new grant " +
  "on all topics or all consumer groups (the super-user model: every team's data, so an admin's only), " +
  "moving the user to another team, or going outside a guardrail (admins only). A grant on topics or consumer groups another team owns is " +
  "an access request: a reviewer of each owning team must approve it. Moving the user to another team is a " +
  "transfer: a reviewer of the receiving team must approve it, and only once it applies may that team reveal the " +
  "password and change the user.";

/** A new ACL needs a reviewer when it writes or covers every topic or group. */
function needsReview(acl: UserAcl): boolean {
  // A DENY only narrows (the one that comes with a grant on everything).
  if (acl.deny) return false;
  return acl.operation === "Write" || acl.resourceName === "*";
}

/** Why a user change needs a reviewer; empty = auto-approve. Pure. */
export function userReviewFindings(input: ReviewInput<UserSpec>, settings: KafkaSettings): ReviewFinding[] {
  const { previous, next } = input;
  if (!next) return [];
  const had = new Set(previous ? userAcls(previous).map(aclKey) : []);
  const findings: ReviewFinding[] = [];
  for (const acl of userAcls(next)) {
    if (had.has(aclKey(acl)) || !needsReview(acl)) continue;
    findings.push({
      code: acl.operation === "Write" ? "WRITE_ACCESS" : "ALL_RESOURCES",
      reason: `grants ${describeAcl(acl)}`,
    });
  }
  if (previous && previous.owner.team !== next.owner.team) {
    findings.push({
      code: "OWNER_CHANGE",
      reason: `ownership moves from ${previous.owner.team} to ${next.owner.team} once a reviewer of ${next.owner.team} approves (the right to reveal the password moves with it)`,
    });
  }
  const cluster = settings.clusters[next.cluster];
  // Validate refuses these; they reach review only through an admin's override.
  for (const violation of cluster ? userGuardrailViolations(next, previous, cluster) : []) {
    findings.push({ code: violation.reason ?? "GUARDRAIL", reason: `${violation.field}: ${violation.description}` });
  }
  return findings;
}

/** One approval when any finding applies, with one reason each; otherwise auto-approved with the reason why. */
export function reviewUser(input: ReviewInput<UserSpec>, settings: KafkaSettings): ReviewDecision {
  const findings = userReviewFindings(input, settings);
  if (findings.length > 0) return { approvals: 1, reasons: findings.map((finding) => finding.reason) };
  if (!input.next) return { approvals: 0, reasons: [`the owning team revokes its own user "${input.name}"`] };
  return {
    approvals: 0,
    reasons: ["every new grant reads topics or consumer groups of a prefix; nothing new writes or covers everything"],
  };
}
