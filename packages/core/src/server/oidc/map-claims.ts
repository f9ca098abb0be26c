import type { JWTPayload } from "jose";
import type { OidcIssuerConfig } from "../../config/service-config.ts";
import { PermissionDeniedError, UnauthenticatedError } from "../../domain/errors.ts";
import type { Principal, Role, TeamMembership } from "../../domain/types.ts";

type Rule = OidcIssuerConfig["rules"][number];

const roleOrder: Role[] = ["requester", "reviewer", "admin"];
const teamName = "([A-Za-z0-9][A-Za-z0-9._-]*)";

/** The rule's pattern as an anchored regular expression; `{team}` is the only capture. */
function ruleRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split("{team}")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(teamName);
  return new RegExp(`^${escaped}$`);
}

const valuesOf = (claim: unknown): string[] =>
  typeof claim === "string" ? [claim] : Array.isArray(claim) ? claim.filter((v) => typeof v === "string") : [];

/**
 * Turns a verified token's claims into a principal: its id from the issuer's
 * `principalClaim`, its teams and roles from the rules (a `{team}` pattern
 * gives the team it captures; a rule without a team adds its roles in every
 * team the token gives). The caller acts for its first team (by name) unless
 * a request names another of its teams.
 */
export function createClaimsMapper(config: OidcIssuerConfig): (claims: JWTPayload) => Principal {
  const rules = config.rules.map((rule: Rule) => ({ ...rule, regExp: ruleRegExp(rule.group) }));
  return (claims) => {
    const id = claims[config.principalClaim];
    if (typeof id !== "string" || id === "") {
      throw new UnauthenticatedError(
        `token of ${config.issuer} has no "${config.principalClaim}" claim to name the principal by`,
      );
    }
    const teams = new Map<string, Set<Role>>();
    const everywhere = new Set<Role>();
    for (const rule of rules) {
      for (const value of valuesOf(claims[rule.claim ?? config.groupsClaim])) {
        const match = rule.regExp.exec(value);
        if (!match) continue;
        const team = match[1] ?? rule.team;
        if (team === undefined) {
          for (const role of rule.roles) everywhere.add(role);
          continue;
        }
        const roles = teams.get(team) ?? new Set<Role>();
        for (const role of rule.roles) roles.add(role);
        teams.set(team, roles);
      }
    }
    if (teams.size === 0) {
      throw new PermissionDeniedError(
        `${id} (${config.issuer}) is in no team: none of the token's ${config.groupsClaim} matches a rule of this issuer`,
      );
    }
    const memberships: TeamMembership[] = [...teams]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([team, roles]) => ({ team, roles: roleOrder.filter((role) => roles.has(role) || everywhere.has(role)) }));
    const first = memberships[0] as TeamMembership;
    return {
      id,
      team: first.team,
      roles: first.roles,
      teams: memberships,
      issuer: config.issuer,
      subject: typeof claims.sub === "string" ? claims.sub : id,
    };
  };
}
