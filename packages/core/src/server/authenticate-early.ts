import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { UnauthenticatedError } from "../domain/errors.ts";
import { answerBeforeBody } from "./reject-oversized.ts";

type Request = IncomingMessage | Http2ServerRequest;

/** The API's paths; everything else (health, /metrics, the console) is answered without a token. */
const isApiPath = (url: string | undefined) => url?.startsWith("/plinth.v1.") === true;

/**
 * Authentication from the request's headers, before its body is read: the
 * RPC layer reads a whole request body (up to 4 MiB) before any interceptor
 * runs, so an unauthenticated client could otherwise make the server wait
 * for, and buffer, bodies it never meant to finish. The auth interceptor
 * still establishes the principal for the handler.
 */
export function createEarlyAuthenticator(authenticate: (authorization: string | null) => Promise<unknown>) {
  // The last header that authenticated on each connection (keep-alive sends it again and again).
  const lastGood = new WeakMap<object, Buffer>();
  const connectionOf = (req: Request): object => ("stream" in req ? req.stream.session! : req.socket);

  /** Undefined at once for the header that last authenticated on this connection; else checks it (async). */
  function check(req: Request): undefined | Promise<UnauthenticatedError | undefined> {
    const header = req.headers.authorization ?? null;
    const connection = connectionOf(req);
    const sent = header === null ? undefined : Buffer.from(header);
    const last = lastGood.get(connection);
    if (sent && last && last.length === sent.length && timingSafeEqual(last, sent)) return undefined;
    return authenticate(header).then(
      () => {
        if (sent) lastGood.set(connection, sent);
        return undefined;
      },
      (error: unknown) => {
        if (error instanceof UnauthenticatedError) return error;
        throw error;
      },
    );
  }

  function refuse(req: Request, res: ServerResponse | Http2ServerResponse, error: UnauthenticatedError): void {
    answerBeforeBody(req, res, { grpcStatus: 16, httpStatus: 401, code: "unauthenticated", message: error.message });
    // An HTTP/2 session that never authenticated has nothing more to do here: GOAWAY, so the streams
    // it still has queued are never sent (answering a flood of them would crowd out real clients).
    if ("stream" in req && !lastGood.has(connectionOf(req))) {
      req.stream.session?.close();
    }
  }

  return {
    /** Whether the request carries valid credentials (for the connection limits). */
    isAuthenticated(req: Request): boolean | Promise<boolean> {
      const checked = check(req);
      return checked === undefined ? true : checked.then((error) => error === undefined);
    },
    /**
     * Answers an API request without valid credentials (UNAUTHENTICATED), unread: true when it did. At once
     * for a connection's known header; a new one is verified first (a JWT's signature check is asynchronous).
     */
    refuseUnauthenticated(req: Request, res: ServerResponse | Http2ServerResponse): boolean | Promise<boolean> {
      if (!isApiPath(req.url)) return false;
      const checked = check(req);
      if (checked === undefined) return false;
      return checked.then((error) => {
        if (!error) return false;
        refuse(req, res, error);
        return true;
      });
    },
  };
}
