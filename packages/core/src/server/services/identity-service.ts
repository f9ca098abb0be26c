import type { ServiceImpl } from "@connectrpc/connect";
import type { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { denyPrincipal, allowPrincipal, listDenials } from "../../domain/deny-principal.ts";
import type { DenialRecord } from "../../store/records.ts";
import { principalOf } from "../auth.ts";
import type { ServiceDeps } from "./service-deps.ts";

const denialToProto = (denial: DenialRecord) => ({
  principal: denial.principal,
  reason: denial.reason,
  deniedBy: denial.deniedBy,
  deniedAt: denial.deniedAt,
});

/** IdentityService: the caller as the auth interceptor established it, and the admins' deny list. */
export function identityService(deps: ServiceDeps): ServiceImpl<typeof IdentityService> {
  return {
    whoAmI(_req, context) {
      const principal = principalOf(context);
      const teams = principal.teams ?? [{ team: principal.team, roles: principal.roles }];
      return {
        id: principal.id,
        team: principal.team,
        roles: [...principal.roles],
        teams: teams.map((membership) => ({ team: membership.team, roles: [...membership.roles] })),
        issuer: principal.issuer ?? "",
        subject: principal.subject ?? "",
      };
    },

    async denyPrincipal(req, context) {
      return { denied: denialToProto(await denyPrincipal(deps, principalOf(context), req.principal, req.reason)) };
    },

    async allowPrincipal(req, context) {
      await allowPrincipal(deps, principalOf(context), req.principal);
      return {};
    },

    async listDeniedPrincipals(_req, context) {
      return { denied: (await listDenials(deps, principalOf(context))).map(denialToProto) };
    },
  };
}
