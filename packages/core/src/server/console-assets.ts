import { createRequire } from "node:module";
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import type { IncomingHttpHeaders } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";

/** What this handler uses of an HTTP/1.1 or HTTP/2 request and response. */
interface Request {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}
interface Response {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(): unknown;
  end(body: string | Uint8Array): unknown;
}

/** A HEAD answer has the headers of the GET and no body. */
function finish(res: Response, body: string | Buffer, head: boolean): void {
  if (head) res.end();
  else res.end(body);
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

// Vite puts content-hashed files under assets/: their URL changes with their content.
const immutable = "public, max-age=31536000, immutable";
const revalidate = "no-cache";
const securityHeaders = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** What the console needs to sign in through the identity provider (authorization code flow with PKCE). */
export interface ConsoleSignIn {
  issuer: string;
  clientId: string;
  scope: string;
}

/**
 * What the console shows about review that only the config knows: when a
 * change pending review is overdue (the reminder), and which teams' reviewers
 * review every team's changes. Served without a token, like the sign-in
 * settings: it names teams and a period, nothing a team could act on.
 */
export interface ConsoleSettings {
  review: { remindAfterMs: number; platformTeams: readonly string[] };
}

/** The built console of the @plinth/console package, when it is installed next to core. */
export function defaultConsoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@plinth/console/package.json")), "dist");
  } catch {
    return undefined;
  }
}

function page(res: Response, status: number, title: string, text: string, head: boolean): void {
  const body = `<!doctype html><html lang="en"><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p></html>\n`;
  res.writeHead(status, {
    ...securityHeaders,
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
  });
  finish(res, body, head);
}

const compressible = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"]);

/** Gzipped bodies by path and modification time: the console's files are few and change only on a rebuild. */
const gzipped = new Map<string, { mtimeMs: number; body: Buffer }>();

async function gzippedFile(path: string): Promise<Buffer> {
  const { mtimeMs } = await stat(path);
  const cached = gzipped.get(path);
  if (cached?.mtimeMs === mtimeMs) return cached.body;
  const body = gzipSync(await readFile(path));
  gzipped.set(path, { mtimeMs, body });
  return body;
}

const acceptsGzip = (req: Request): boolean => /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The console's own routes (see its router): answered with index.html whatever their last segment looks like. */
const clientRoute = /^\/(changes|resources)\//;

/**
 * Serves the console's static files under `/` for GET and HEAD: hashed assets
 * cached for good, index.html revalidated, any other path without a file
 * extension (or under a client route) answered with index.html (the page routes on the client). Returns
 * false for requests it leaves to the caller (API paths, other methods).
 */
export function createConsoleHandler(
  dir: string | undefined,
  signIn?: ConsoleSignIn,
  settings: ConsoleSettings = { review: { remindAfterMs: 0, platformTeams: [] } },
): (req: Request, res: Response) => boolean {
  const root = dir === undefined ? undefined : resolve(dir);
  // The page talks to the identity provider (discovery, token endpoint) for the code flow: that origin only.
  const headers = signIn
    ? {
        ...securityHeaders,
        "content-security-policy": securityHeaders["content-security-policy"].replace(
          "connect-src 'self'",
          `connect-src 'self' ${new URL(signIn.issuer).origin}`,
        ),
      }
    : securityHeaders;
  const signInBody = signIn && JSON.stringify(signIn);
  const settingsBody = JSON.stringify(settings);
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const head = req.method === "HEAD";
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    if (rawPath.startsWith("/plinth.v1.")) return false;
    if (rawPath === "/console-sign-in.json") {
      if (!signInBody) {
        page(res, 404, "Not found", "This server has no identity provider for the console.", head);
        return true;
      }
      res.writeHead(200, { ...headers, "content-type": "application/json", "cache-control": revalidate });
      finish(res, signInBody, head);
      return true;
    }
    if (rawPath === "/console-settings.json") {
      res.writeHead(200, { ...headers, "content-type": "application/json", "cache-control": revalidate });
      finish(res, settingsBody, head);
      return true;
    }
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      page(res, 400, "Bad request", "The address is not valid URL encoding.", head);
      return true;
    }
    void (async () => {
      if (!root || !(await isFile(join(root, "index.html")))) {
        page(
          res,
          503,
          "Console not built",
          "The Plinth API is running, but the reviewer console has not been built. Run <code>make setup</code> " +
            "(or <code>pnpm --filter @plinth/console build</code>) and reload.",
          head,
        );
        return;
      }
      const file = resolve(root, `.${path}`);
      // Anything that resolves outside the console's directory (../, encoded or not, NUL) is not ours to serve.
      if (path.includes("\0") || (file !== root && !file.startsWith(root + sep))) {
        page(res, 404, "Not found", "There is no such page.", head);
        return;
      }
      // Dotfiles (the build's own bookkeeping, editors' leftovers) are not part of the page.
      const hidden = path.split("/").some((segment) => segment.startsWith("."));
      let target = file;
      if (hidden || !(await isFile(file))) {
        // A resource's page ends in its name, and names have dots (orders.placed.v1): not a file.
        if (extname(path) !== "" && !clientRoute.test(path)) {
          page(res, 404, "Not found", "There is no such file.", head);
          return;
        }
        target = join(root, "index.html");
      }
      const gzip = compressible.has(extname(target)) && acceptsGzip(req);
      const body = gzip ? await gzippedFile(target) : await readFile(target);
      const inAssets = target.startsWith(join(root, "assets") + sep);
      res.writeHead(200, {
        ...headers,
        "content-type": contentTypes[extname(target)] ?? "application/octet-stream",
        "content-length": String(body.length),
        "cache-control": inAssets ? immutable : revalidate,
        vary: "accept-encoding",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
      });
      finish(res, body, head);
    })().catch(() => {
      if (!res.headersSent) page(res, 500, "Server error", "The file could not be read.", head);
      else res.end();
    });
    return true;
  };
}
