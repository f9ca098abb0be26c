import { createHash, hash as digest, timingSafeEqual } from "node:crypto";
import { type HandlerContext, type Interceptor, createContextKey } from "@connectrpc/connect";
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

/** Authenticates every RPC and puts the principal in the handler's context. */
export function createAuthInterceptor(authenticate: (authorization: string | null) => Principal): Interceptor {
  return (next) => async (req) => {
    try {
      req.contextValues.set(principalKey, authenticate(req.header.get("authorization")));
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
