import { hash as digest, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { isIP } from "node:net";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export interface RequestGuardOptions {
  /** The address the server listens on. */
  listenHost: string;
  /** Host names the server answers to; default: the loopback names on a loopback address, any elsewhere. */
  allowedHosts?: readonly string[];
  /** Hex SHA-256 of the bearer token /metrics requires; none: /metrics is open. */
  metricsTokenSha256?: string;
}

const loopbackNames = ["localhost", "127.0.0.1", "::1"];

/** Whether `host` (an address or a name) only reaches this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1" || bare.startsWith("::ffff:127.");
}

/** "example.com:8080" → "example.com", "[::1]:80" → "::1". */
function hostName(header: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(header);
  if (bracketed?.[1]) return bracketed[1].toLowerCase();
  const colon = header.lastIndexOf(":");
  // Exactly one colon: a port; more: an IPv6 address without brackets, which a Host header never is.
  return (colon > 0 && header.indexOf(":") === colon ? header.slice(0, colon) : header).toLowerCase();
}

function refuse(res: Response, status: number, message: string, headers: Record<string, string> = {}): true {
  // Both response kinds share this form; TypeScript cannot pick an overload on the union.
  (res as ServerResponse).writeHead(status, { "content-type": "text/plain", ...headers });
  res.end(message);
  return true;
}

/**
 * Checks what must hold before any handler runs: the Host header (DNS
 * rebinding: a web page whose name now resolves to 127.0.0.1 would
 * otherwise reach a loopback-only server with the browser's rights, e.g.
 * `make start`'s dev tokens typed into the console) and /metrics' token.
 * Returns a function that answers and returns true when it refused.
 */
export function createRequestGuard(options: RequestGuardOptions): (req: Request, res: Response) => boolean {
  const allowed = options.allowedHosts ?? (isLoopback(options.listenHost) ? loopbackNames : undefined);
  const allowedSet = allowed && new Set(allowed.map((name) => name.toLowerCase()));
  const metricsHash = options.metricsTokenSha256 && Buffer.from(options.metricsTokenSha256, "hex");
  return (req, res) => {
    if (allowedSet) {
      const header = req.headers.host ?? req.headers[":authority"];
      const name = typeof header === "string" ? hostName(header) : undefined;
      if (!name || !(allowedSet.has(name) || (allowed === loopbackNames && name.endsWith(".localhost")))) {
        return refuse(
          res,
          421,
          `this server answers to ${[...allowedSet].join(", ")} only (Host header; listen.allowedHosts adds names)\n`,
        );
      }
    }
    if (metricsHash && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      const given = match?.[1] && digest("sha256", match[1], "buffer");
      if (!given || !timingSafeEqual(given, metricsHash)) {
        return refuse(res, 401, "/metrics needs 'Authorization: Bearer <metrics token>'\n", {
          "www-authenticate": "Bearer",
        });
      }
    }
    return false;
  };
}
