import { createHash, hash as digest, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import {
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import { PermissionDeniedError, UnauthenticatedError } from "../domain/errors.ts";
import type { Principal } from "../domain/types.ts";
import type { DeniedReason } from "./deny-list.ts";
import { toConnectError } from "./error-translator.ts";
import { type VerifiedToken, looksLikeJwt } from "./oidc/token-verifier.ts";

/** A principal from the service config; only the SHA-256 of its token is kept. */
export interface PrincipalConfig extends Principal {
  tokenSha256: string;
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "the caller" });

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

/** An authenticated caller, and until when (epoch ms) that may be reused for the same header. */
export interface Authenticated {
  principal: Principal;
  validUntil: number;
}

export type Authenticator = (authorization: string | null) => Promise<Authenticated>;

/**
 * Establishes the caller from a bearer token: a JWT goes to the identity
 * provider's verifier (when one is configured), anything else is looked up
 * among the static tokens, comparing hashes in constant time.
 */
export function createAuthenticator(
  principals: PrincipalConfig[],
  verifyJwt?: (token: string) => Promise<VerifiedToken>,
): Authenticator {
  const known = principals.map((p) => ({
    principal: { id: p.id, team: p.team, roles: p.roles },
    hash: Buffer.from(p.tokenSha256, "hex"),
  }));
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match?.[1]) {
      throw new UnauthenticatedError("missing bearer token: send 'Authorization: Bearer <token>'");
    }
    if (verifyJwt && looksLikeJwt(match[1])) return await verifyJwt(match[1]);
    const hash = digest("sha256", match[1], "buffer");
    const found = known.find((entry) => entry.hash.length === hash.length && timingSafeEqual(entry.hash, hash));
    if (!found) throw new UnauthenticatedError("unknown or revoked token");
    return { principal: found.principal, validUntil: Number.POSITIVE_INFINITY };
  };
}

/** The client connection a request came on: an HTTP/1.1 socket or an HTTP/2 session. */
const connectionKey = createContextKey<object | undefined>(undefined, { description: "the client connection" });

/** Each request's context values, with its connection (`connectNodeAdapter`'s `contextValues`). */
export function requestContext(request: IncomingMessage | Http2ServerRequest): ContextValues {
  const values = createContextValues();
  values.set(connectionKey, "stream" in request ? request.stream.session : request.socket);
  return values;
}

/**
 * Authenticates every RPC and puts the principal in the handler's context.
 *
 * A keep-alive connection sends the same Authorization header again and
 * again, so the principal found for it is kept per connection and reused
 * while the header stays the same and its token is valid, which skips the
 * token's SHA-256 (a tenth of a GetResource) or signature check. The header
 * is compared in constant time all the same: a proxy may carry several
 * callers' requests on one connection. The deny list is asked on every
 * request (deny-list.ts: this replica's copy, never older than its bound).
 * A connection's known caller and a fresh copy of the list are answered
 * without waiting: nothing on that path is asynchronous.
 */
export function createAuthInterceptor(authenticate: Authenticator, deniedReason: DeniedReason): Interceptor {
  const lastOnConnection = new WeakMap<object, { authorization: Buffer; found: Authenticated }>();
  const principalFor = (
    authorization: string | null,
    connection: object | undefined,
  ): Principal | Promise<Principal> => {
    if (authorization === null || connection === undefined)
      return authenticate(authorization).then((found) => found.principal);
    const sent = Buffer.from(authorization);
    const last = lastOnConnection.get(connection);
    if (
      last &&
      last.authorization.length === sent.length &&
      timingSafeEqual(last.authorization, sent) &&
      Date.now() < last.found.validUntil
    ) {
      return last.found.principal;
    }
    return authenticate(authorization).then((found) => {
      lastOnConnection.set(connection, { authorization: sent, found });
      return found.principal;
    });
  };
  return (next) => async (req) => {
    try {
      const found = principalFor(req.header.get("authorization"), req.contextValues.get(connectionKey));
      const principal = found instanceof Promise ? await found : found;
      const reason = deniedReason(principal.id);
      const denied = reason instanceof Promise ? await reason : reason;
      if (denied !== undefined) throw new PermissionDeniedError(`${principal.id} is denied by an admin: ${denied}`);
      req.contextValues.set(principalKey, principal);
    } catch (error) {
      throw toConnectError(error);
    }
    return await next(req);
  };
}

/** The caller the auth interceptor established; every handler starts here. */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (!principal) throw toConnectError(new UnauthenticatedError("not authenticated"));
  return principal;
}

/**
 * The caller acting for one of its teams. `team` is what the request names
 * (it must be one of the caller's teams: PERMISSION_DENIED otherwise);
 * `hint` is the team the change concerns (the spec's owner, the resource's
 * or change's team), taken when the caller may act for it. Otherwise the
 * caller's own default team. An admin acts for any team named.
 */
export function actingFor(principal: Principal, team: string, hint?: string): Principal {
  const teams = principal.teams ?? [{ team: principal.team, roles: principal.roles }];
  const admin = teams.some((membership) => membership.roles.includes("admin"));
  if (team !== "") {
    const membership = teams.find((candidate) => candidate.team === team);
    if (membership) return { ...principal, team, roles: membership.roles };
    if (admin) return { ...principal, team, roles: [...new Set(teams.flatMap((m) => m.roles))] };
    throw new PermissionDeniedError(
      `${principal.id} may act for ${teams.map((m) => m.team).join(", ")} only, not for team ${team}`,
    );
  }
  const membership = hint === undefined ? undefined : teams.find((candidate) => candidate.team === hint);
  return membership ? { ...principal, team: membership.team, roles: membership.roles } : principal;
}
