import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

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
  const message = `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`;
  const contentType = String(req.headers["content-type"] ?? "");
  const headers: Record<string, string> = req.httpVersionMajor === 1 ? { connection: "close" } : {};
  // Both response classes share these calls; the union type hides that from TypeScript.
  const out = res as ServerResponse;
  if (contentType.startsWith("application/grpc")) {
    // gRPC and gRPC-Web carry the status in the headers of a "trailers-only" 200 response.
    out.writeHead(200, {
      ...headers,
      "content-type": contentType,
      "grpc-status": "8",
      "grpc-message": encodeURIComponent(message),
    });
    out.end();
  } else {
    out.writeHead(429, { ...headers, "content-type": "application/json" });
    out.end(JSON.stringify({ code: "resource_exhausted", message }));
  }
  return true;
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
