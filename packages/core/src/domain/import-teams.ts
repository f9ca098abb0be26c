import type { Principal, Role } from "./types.ts";

/**
 * The teams `principal` holds `role` in (an admin holds every role in its
 * teams): its memberships from the identity provider, or its one team.
 */
export function teamsWithRole(principal: Principal, role: Role): string[] {
  const memberships = principal.teams ?? [{ team: principal.team, roles: principal.roles }];
  return memberships
    .filter((membership) => membership.roles.includes(role) || membership.roles.includes("admin"))
    .map((membership) => membership.team);
}

export const isAdmin = (principal: Principal): boolean => principal.roles.includes("admin");
