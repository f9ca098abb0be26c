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
import { UnauthenticatedError } from "../domain/errors.ts";
import type { Principal } from "../domain/types.ts";
import { toConnectError } from "./error-translator.ts";

/** A principal from the service config; only the SHA-256 of its token is kept. */
export interface PrincipalConfig extends Principal {
  tokenSha256: string;
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "the caller" });

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Looks up the principal for a bearer token, comparing hashes in constant time. */
export function createAuthenticator(principals: PrincipalConfig[]): (authorization: string | null) => Principal {
  const known = principals.map((p) => ({
    principal: { id: p.id, team: p.team, roles: p.roles },
    hash: Buffer.from(p.tokenSha256, "hex"),
  }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match?.[1]) {
      throw new UnauthenticatedError("missing bearer token: send 'Authorization: Bearer <token>'");
    }
    const hash = digest("sha256", match[1], "buffer");
    const found = known.find((entry) => entry.hash.length === hash.length && timingSafeEqual(entry.hash, hash));
    if (!found) throw new UnauthenticatedError("unknown or revoked token");
    return found.principal;
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
 * while the header stays the same, which skips the token's SHA-256 (a
 * tenth of a GetResource). The header is compared in constant time all the
 * same: a proxy may carry several callers' requests on one connection.
 */
export function createAuthInterceptor(authenticate: (authorization: string | null) => Principal): Interceptor {
  const lastOnConnection = new WeakMap<object, { authorization: Buffer; principal: Principal }>();
  const principalFor = (authorization: string | null, connection: object | undefined): Principal => {
    if (authorization === null || connection === undefined) return authenticate(authorization);
    const sent = Buffer.from(authorization);
    const last = lastOnConnection.get(connection);
    if (last && last.authorization.length === sent.length && timingSafeEqual(last.authorization, sent)) {
      return last.principal;
    }
    const principal = authenticate(authorization);
    lastOnConnection.set(connection, { authorization: sent, principal });
    return principal;
  };
  return (next) => async (req) => {
    try {
      req.contextValues.set(
        principalKey,
        principalFor(req.header.get("authorization"), req.contextValues.get(connectionKey)),
      );
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
