import type { Interceptor } from "@connectrpc/connect";

/** A bearer token, or a function that gives the current one (e.g. refreshed from an identity provider). */
export type TokenSource = string | (() => Promise<string | undefined>) | undefined;

/**
 * Sends `Authorization: Bearer <token>` with every call, unary and streaming.
 * An empty token sends no header, so the server answers UNAUTHENTICATED
 * rather than the client guessing.
 */
export function createAuthInterceptor(token: TokenSource): Interceptor {
  return (next) => async (req) => {
    const current = typeof token === "function" ? await token() : token;
    if (current) {
      req.header.set("Authorization", `Bearer ${current}`);
    }
    return await next(req);
  };
}
