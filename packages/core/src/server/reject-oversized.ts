import type { IncomingMessage, ServerResponse } from "node:http";
import { type Http2ServerRequest, type Http2ServerResponse, constants as http2Constants } from "node:http2";

/**
 * Refuses a request whose declared body is over the limit before reading it,
 * in the caller's protocol (RESOURCE_EXHAUSTED), and closes an HTTP/1.1
 * connection so its unread body cannot poison the next request on it.
 * Returns true when it answered.
 */
export function rejectOversized(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  maxBytes: number,
): boolean {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (!(declared > maxBytes)) return false;
  answerBeforeBody(req, res, {
    grpcStatus: 8,
    httpStatus: 429,
    code: "resource_exhausted",
    message: `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`,
  });
  return true;
}

/**
 * Answers a request with an error without reading its body, in the
 * caller's protocol: gRPC and gRPC-Web as a "trailers-only" response,
 * Connect as its JSON error. The body is never read: an HTTP/1.1
 * connection is closed after the answer unless the rest of the body is
 * small enough to discard, and an HTTP/2 stream is reset once answered
 * (RST_STREAM NO_ERROR), so a client that never sends its body holds nothing.
 */
export function answerBeforeBody(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  error: { grpcStatus: number; httpStatus: number; code: string; message: string },
): void {
  const { message } = error;
  const contentType = String(req.headers["content-type"] ?? "");
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  // Node discards the rest of a small declared body itself (bounded by requestTimeoutMs); a large one is not
  // worth waiting for: the connection closes instead. A chunked body has no declared size (Connect's HTTP/1.1
  // client sends every unary body chunked): it is discarded while it stays small, so the client can finish
  // sending and read the answer, instead of meeting a closed socket mid-write (EPIPE, not the error).
  const chunked = req.headers["transfer-encoding"] !== undefined;
  const small = !chunked && declared <= discardableBytes;
  const headers: Record<string, string> =
    req.httpVersionMajor === 1 && !small && !chunked ? { connection: "close" } : {};
  if (req.httpVersionMajor === 1 && chunked) discardWhileSmall(req as IncomingMessage);
  // Both response classes share these calls; the union type hides that from TypeScript.
  const out = res as ServerResponse;
  if (contentType.startsWith("application/grpc") && "stream" in req) {
    // Trailers-only over HTTP/2 means one HEADERS frame that ends the stream: the compat response
    // would send an empty DATA frame after it, which gRPC clients take for a missing status.
    req.stream.respond(
      {
        ":status": 200,
        "content-type": contentType,
        "grpc-status": String(error.grpcStatus),
        "grpc-message": encodeURIComponent(message),
      },
      { endStream: true },
    );
  } else if (contentType.startsWith("application/grpc")) {
    // gRPC and gRPC-Web carry the status in the headers of a "trailers-only" 200 response.
    out.writeHead(200, {
      ...headers,
      "content-type": contentType,
      "grpc-status": String(error.grpcStatus),
      "grpc-message": encodeURIComponent(message),
    });
    out.end();
  } else {
    out.writeHead(error.httpStatus, { ...headers, "content-type": "application/json" });
    out.end(JSON.stringify({ code: error.code, message }));
  }
  if ("stream" in req) {
    const { stream } = req;
    // The answer is complete; the rest of the request is not wanted (RFC 9113 §8.1: RST_STREAM NO_ERROR).
    if (!stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
  }
}

/** A body this small is discarded without closing the HTTP/1.1 connection: keep-alive clients keep it. */
const discardableBytes = 64 * 1024;

/** Reads a chunked HTTP/1.1 body to nowhere, and drops the connection once it grows past the discardable size. */
function discardWhileSmall(req: IncomingMessage): void {
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > discardableBytes) req.socket.destroy();
  });
  req.resume();
}

/**
 * A chunked body has no declared size, so the limit only trips while it is
 * being read. When a response starts before the body was read to the end,
 * mark the HTTP/1.1 connection for closing: reusing it would feed the
 * leftover bytes to the next request.
 */
export function closeIfBodyUnread(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
): void {
  if (req.httpVersionMajor !== 1) return;
  const out = res as ServerResponse;
  const writeHead = out.writeHead.bind(out) as (...args: unknown[]) => ServerResponse;
  out.writeHead = ((...args: unknown[]) => {
    if (!(req as IncomingMessage).complete) out.setHeader("connection", "close");
    return writeHead(...args);
  }) as ServerResponse["writeHead"];
}
