import { spawn } from "node:child_process";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as oidc from "openid-client";
import type { TextSink } from "../cli-io.ts";
import { UsageError } from "../usage-error.ts";

export interface LoopbackSignInOptions {
  scope: string;
  /** The loopback port to listen on; 0 (default) picks a free one, for providers that allow any port (RFC 8252). */
  port?: number;
  /** How long to wait for the browser to come back. */
  timeoutMs?: number;
  /** Try to open the address in the user's browser (only worth it on a terminal). */
  openBrowser?: boolean;
  stderr: TextSink;
}

const page = (title: string, text: string) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;

/** Best effort: the platform's opener, detached; the printed address is what counts when it fails. */
function tryOpen(url: string): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(opener, [url], { detached: true, stdio: "ignore" });
  child.on("error", () => undefined);
  child.unref();
}

/**
 * The authorization code flow with PKCE (S256) and a redirect to a port this
 * process listens on at 127.0.0.1 (RFC 8252), for providers or clients
 * without the device flow: prints the address to open, waits for the
 * provider to send the browser back with the code (checking the state), and
 * trades code and verifier for the tokens. Only 127.0.0.1 is listened on, and
 * only the first return with the right state is taken.
 */
export async function loopbackSignIn(
  config: oidc.Configuration,
  options: LoopbackSignInOptions,
): Promise<oidc.TokenEndpointResponse> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const timeoutMs = options.timeoutMs ?? 300_000;
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const returned = new Promise<URL>((resolve, reject) => {
      server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
        // A stray request (a favicon, a page another tab sends here) must not end the sign-in.
        if (url.pathname !== "/callback" || url.searchParams.get("state") !== state) {
          res.writeHead(404, { "content-type": "text/plain", connection: "close" }).end("not found\n");
          return;
        }
        const refused = url.searchParams.get("error");
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", connection: "close" });
        res.end(
          refused
            ? page("Sign-in refused", "The identity provider refused; the terminal says why.")
            : page("Signed in", "You may close this window and return to the terminal."),
        );
        resolve(url);
      });
      server.once("error", reject);
      timer = setTimeout(
        () => reject(new UsageError(`nobody came back from the identity provider within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    returned.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject).listen(options.port ?? 0, "127.0.0.1", resolve);
    });
    const redirectUri = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/callback`;
    const wantsRefresh = options.scope.split(/\s+/).includes("offline_access");
    const address = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: options.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      // OpenID Connect honours offline_access (a refresh token) only with a consent prompt.
      ...(wantsRefresh ? { prompt: "consent" } : {}),
    });
    options.stderr.write(
      `To sign in, open ${address.href}\nin your browser; it comes back to ${redirectUri}. Waiting…\n`,
    );
    if (options.openBrowser) tryOpen(address.href);
    const callback = await returned;
    try {
      return await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    } catch (error) {
      throw new UsageError(`signing in failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  } finally {
    clearTimeout(timer);
    server?.closeAllConnections();
    server?.close();
  }
}
