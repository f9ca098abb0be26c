import type { Interceptor } from "@connectrpc/connect";

/**
 * Sends `Authorization: Bearer <token>` with every call, unary and streaming.
 * An empty token sends no header, so the server answers UNAUTHENTICATED
 * rather than the client guessing.
 */
export function createAuthInterceptor(token: string | undefined): Interceptor {
  return (next) => async (req) => {
    if (token) {
      req.header.set("Authorization", `Bearer ${token}`);
    }
    return await next(req);
  };
}
