import type { ReviewDecision, ReviewInput } from "../plugin/define-plugin.ts";
import type { ChangeKind } from "./types.ts";

/** Service-wide review rules from the config; a plugin's own policy can only ask for more. */
export interface GlobalReviewPolicy {
  /** Approvals required per change kind before any plugin rule. */
  approvals: Record<ChangeKind, number>;
  /**
   * Teams whose reviewers review every team's changes (a platform or SRE team). Everyone
   * else reviews only the changes of its own team and those that ask its team for access.
   */
  platformTeams?: readonly string[];
}

export const defaultReviewPolicy: GlobalReviewPolicy = { approvals: { CREATE: 0, UPDATE: 0, DELETE: 1 } };

/** Combines the global and the plugin policy: the larger demand wins, and every reason is kept. */
export function decideReview(
  global: GlobalReviewPolicy,
  input: ReviewInput<unknown>,
  plugin: ReviewDecision | undefined,
): ReviewDecision {
  const globalApprovals = global.approvals[input.kind];
  const reasons: string[] = [];
  if (globalApprovals > 0) {
    reasons.push(`service policy: a ${input.kind.toLowerCase()} needs ${globalApprovals} approval(s)`);
  }
  if (plugin && plugin.approvals > 0) reasons.push(...plugin.reasons);
  const approvals = Math.max(globalApprovals, plugin?.approvals ?? 0);
  if (approvals === 0) reasons.push("auto-approved: no rule asks for a review");
  return { approvals, reasons };
}
