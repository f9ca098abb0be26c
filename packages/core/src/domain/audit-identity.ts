import type { JsonObject } from "./types.ts";
import type { Principal } from "./types.ts";

/** Who acted, as the identity provider knows them: its issuer and their subject; nothing for a static token. */
export const auditIdentity = (principal: Principal): JsonObject =>
  principal.issuer === undefined
    ? {}
    : { issuer: principal.issuer, subject: principal.subject ?? principal.id, team: principal.team };
