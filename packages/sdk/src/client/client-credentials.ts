import * as oidc from "openid-client";

/** Options of {@link clientCredentialsToken}. */
export interface ClientCredentialsOptions {
  /** The identity provider's issuer URL (its discovery document is read from it). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Scopes to ask for, space-separated. */
  scope?: string;
  /** RFC 8707 resource indicator, for providers that pick the token's audience by it. */
  resource?: string;
  /** Fetch a new token this long before the current one expires; default 30 s. */
  refreshMarginSeconds?: number;
}

const isLoopback = (url: URL) => ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

/**
 * A token source for {@link createPlinthClient}'s `token` that signs a service
 * in with the OAuth client-credentials grant at the organisation's identity
 * provider: fetched at the first call, reused while it is valid, fetched again
 * shortly before it expires (concurrent calls share one request). Plain http
 * is allowed only on loopback (a development provider).
 */
export function clientCredentialsToken(options: ClientCredentialsOptions): () => Promise<string> {
  const marginMs = (options.refreshMarginSeconds ?? 30) * 1000;
  let config: Promise<oidc.Configuration> | undefined;
  let current: { token: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    const url = new URL(options.issuer);
    config ??= oidc
      .discovery(url, options.clientId, undefined, oidc.ClientSecretBasic(options.clientSecret), {
        ...(url.protocol === "http:" && isLoopback(url) ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        config = undefined; // the next call tries again
        throw error;
      });
    const tokens = await oidc.clientCredentialsGrant(await config, {
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    const lifetimeMs = (tokens.expires_in ?? 300) * 1000;
    // A token shorter-lived than twice the margin is reused for half its life rather than never.
    current = { token: tokens.access_token, refreshAt: Date.now() + Math.max(lifetimeMs - marginMs, lifetimeMs / 2) };
    return tokens.access_token;
  };
  return async () => {
    if (current && Date.now() < current.refreshAt) return current.token;
    inFlight ??= fetchToken().finally(() => (inFlight = undefined));
    return await inFlight;
  };
}
