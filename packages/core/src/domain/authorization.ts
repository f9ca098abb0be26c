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

/** A reviewer approves or rejects others' changes, never its own; nor does an admin. */
export function assertCanReview(principal: Principal, requestedBy: string): void {
  if (!hasRole(principal, "reviewer")) {
    throw new PermissionDeniedError(`${principal.id} has no reviewer role`);
  }
  if (principal.id === requestedBy) {
    throw new PermissionDeniedError("nobody reviews their own change: ask another reviewer");
  }
}
