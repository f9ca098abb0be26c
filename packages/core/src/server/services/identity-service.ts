import type { ServiceImpl } from "@connectrpc/connect";
import type { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { principalOf } from "../auth.ts";

/** IdentityService: the caller as the auth interceptor established it. */
export function identityService(): ServiceImpl<typeof IdentityService> {
  return {
    whoAmI(_req, context) {
      const principal = principalOf(context);
      return { id: principal.id, team: principal.team, roles: [...principal.roles] };
    },
  };
}
