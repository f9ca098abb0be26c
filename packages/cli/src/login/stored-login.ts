import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import * as oidc from "openid-client";
import { UsageError } from "../usage-error.ts";

/** What `plinth login` keeps: the provider to refresh at, and the tokens. Never printed. */
export interface StoredLogin {
  issuer: string;
  clientId: string;
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms. */
  expiresAt: number;
}

type Env = Record<string, string | undefined>;

/** `$PLINTH_CONFIG_DIR`, else `$XDG_CONFIG_HOME/plinth`, else `~/.config/plinth`. */
export const configDir = (env: Env): string =>
  env["PLINTH_CONFIG_DIR"] ?? join(env["XDG_CONFIG_HOME"] ?? join(homedir(), ".config"), "plinth");

export const credentialsFile = (env: Env): string => join(configDir(env), "credentials.json");

export function saveLogin(env: Env, login: StoredLogin): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(env);
  // Written 0600 from the first byte; chmod as well for a file an older run left wider.
  writeFileSync(file, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function loadLogin(env: Env): StoredLogin | undefined {
  try {
    return JSON.parse(readFileSync(credentialsFile(env), "utf8")) as StoredLogin;
  } catch {
    return undefined;
  }
}

/** Forgets the stored tokens; true when there were any. */
export function forgetLogin(env: Env): boolean {
  const file = credentialsFile(env);
  const had = loadLogin(env) !== undefined;
  rmSync(file, { force: true });
  return had;
}

const isLoopback = (url: URL) => ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

/** The provider's configuration from its discovery document; plain http only on loopback (the dev provider). */
export async function discover(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  return await oidc.discovery(url, clientId, undefined, oidc.None(), {
    ...(url.protocol === "http:" && isLoopback(url) ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
}

export const fromTokens = (issuer: string, clientId: string, tokens: oidc.TokenEndpointResponse): StoredLogin => ({
  issuer,
  clientId,
  accessToken: tokens.access_token,
  ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
  expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
});

/** Refresh this long before the access token runs out, so a call does not race its expiry. */
const refreshMarginMs = 30_000;

/**
 * The stored access token, refreshed first when it is about to expire (the
 * new tokens are stored again); undefined when nobody is logged in.
 */
export async function storedAccessToken(env: Env): Promise<string | undefined> {
  const login = loadLogin(env);
  if (!login) return undefined;
  if (login.expiresAt - refreshMarginMs > Date.now()) return login.accessToken;
  if (!login.refreshToken) {
    throw new UsageError("your sign-in has expired: run plinth login again");
  }
  const config = await discover(login.issuer, login.clientId);
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.refreshTokenGrant(config, login.refreshToken);
  } catch (error) {
    throw new UsageError(
      `your sign-in could not be refreshed (${error instanceof Error ? error.message : String(error)}): run plinth login again`,
    );
  }
  const next = fromTokens(login.issuer, login.clientId, tokens);
  saveLogin(env, { ...next, refreshToken: next.refreshToken ?? login.refreshToken });
  return next.accessToken;
}
