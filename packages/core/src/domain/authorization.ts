import { PermissionDeniedError } from "./errors.ts";
import type { Principal, Role } from "./types.ts";

export const hasRole = (principal: Principal, role: Role): boolean =>
  principal.roles.includes(role) || principal.roles.includes("admin");

/** A requester changes only its own team's resources; an admin changes any. */
export function assertCanChange(principal: Principal, ownerTeam: string | undefined): void {
  if (!hasRole(principal, "requester")) {
    throw new PermissionDeniedError(`${principal.id} has no requester role and cannot submit changes`);
  }
  if (ownerTeam !== undefined && ownerTeam !== principal.team && !principal.roles.includes("admin")) {
    throw new PermissionDeniedError(
      `this resource belongs to team ${ownerTeam}; ${principal.id} is in team ${principal.team}`,
    );
  }
}

/** What decides who may review a change: whose it is and whom it asks for access. */
export interface ReviewedChange {
  id: string;
  team: string;
  requestedBy: string;
  accessRequests: readonly { ownerTeam: string }[];
}

/**
 * A reviewer approves or rejects others' changes, never its own (nor does an
 * admin), and only those its team has a say in: its own team's changes and
 * those that ask its team for access. An admin and a reviewer of a platform
 * team (`review.platformTeams`) review any team's; otherwise a reviewer of one
 * team could wave through, or block, another team's changes.
 */
export function assertCanReview(
  principal: Principal,
  change: ReviewedChange,
  platformTeams: readonly string[] = [],
): void {
  if (!hasRole(principal, "reviewer")) {
    throw new PermissionDeniedError(`${principal.id} has no reviewer role`);
  }
  if (principal.id === change.requestedBy) {
    throw new PermissionDeniedError("nobody reviews their own change: ask another reviewer");
  }
  const asked = [...new Set(change.accessRequests.map((request) => request.ownerTeam))];
  const hasSay =
    principal.roles.includes("admin") ||
    principal.team === change.team ||
    asked.includes(principal.team) ||
    platformTeams.includes(principal.team);
  if (!hasSay) {
    const teams = [change.team, ...asked.filter((team) => team !== change.team)].join(", ");
    throw new PermissionDeniedError(
      `change ${change.id} is team ${change.team}'s: only a reviewer of ${teams}` +
        `${platformTeams.length > 0 ? `, of ${platformTeams.join(", ")} (platform teams)` : ""} or an admin ` +
        `may review it; ${principal.id} reviews for team ${principal.team}`,
    );
  }
}
