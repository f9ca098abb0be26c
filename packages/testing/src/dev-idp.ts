import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DevService, DevUser, DevUsersFile } from "./dev-idp/dev-idp.ts";
import { freePort } from "./free-port.ts";
import { type ManagedProcess, startManagedProcess } from "./managed-process.ts";
import { scratchDir } from "./scratch-dir.ts";
import { waitFor } from "./wait-for.ts";

export type { DevService, DevUser, DevUsersFile };

/** The development provider's script, run with the project's own Node. */
export const devIdpScript = fileURLToPath(new URL("./dev-idp/dev-idp.ts", import.meta.url));

/** The people and services `make start` and the tests sign in as. */
export const devIdpUsers: DevUsersFile = {
  users: [
    { id: "alice", name: "Alice (payments requester)", groups: ["plinth-payments-requesters"] },
    { id: "bob", name: "Bob (payments reviewer)", groups: ["plinth-payments-reviewers"] },
    { id: "carol", name: "Carol (admin)", groups: ["plinth-admins"] },
    {
      id: "dana",
      name: "Dana (payments and orders requester)",
      groups: ["plinth-payments-requesters", "plinth-orders-requesters"],
    },
    {
      id: "erin",
      name: "Erin (payments and orders reviewer)",
      groups: ["plinth-payments-reviewers", "plinth-orders-reviewers"],
    },
  ],
  services: [
    { clientId: "orders-deployer", secret: "orders-deployer-dev-secret", groups: ["plinth-orders-requesters"] },
  ],
};

/** The mapping rules that fit `devIdpUsers` (service config `auth.oidc.issuers[].rules`). */
export const devIdpRules = [
  { group: "plinth-{team}-requesters", roles: ["requester"] },
  { group: "plinth-{team}-reviewers", roles: ["reviewer"] },
  { group: "plinth-admins", team: "platform", roles: ["requester", "reviewer", "admin"] },
];

export interface StartDevIdpOptions {
  port?: number;
  users?: DevUsersFile;
  /** Lifetime of access tokens (seconds); 300 by default. */
  accessTokenTtlSeconds?: number;
  /** Redirect URIs of the console client. */
  consoleRedirects?: string[];
  /** false: the provider offers no device flow (its discovery document has no device endpoint). */
  deviceFlow?: boolean;
  startTimeoutMs?: number;
}

/** The development OpenID provider running as its own process on loopback. */
export interface DevIdp {
  /** The issuer, "http://127.0.0.1:<port>". */
  readonly issuer: string;
  readonly port: number;
  /** Replaces the users file; the next token of each person carries their new groups. */
  setUsers(users: DevUsersFile): void;
  /** A client-credentials access token of one of the users file's services; `resource` picks another audience. */
  clientCredentials(clientId: string, secret: string, resource?: string): Promise<string>;
  /** The device flow, with `login` approving it as a person would in a browser: the token response. */
  deviceSignIn(login: string): Promise<TokenResponse>;
  /** Publishes a new signing key and signs with it from now on; returns its `kid`. */
  rotateKeys(): Promise<string>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
}

export async function startDevIdp(options: StartDevIdpOptions = {}): Promise<DevIdp> {
  const dir = scratchDir("dev-idp");
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const usersFile = join(dir, "users.json");
  const setUsers = (users: DevUsersFile) => writeFileSync(usersFile, JSON.stringify(users, null, 2));
  setUsers(options.users ?? devIdpUsers);
  const args = [devIdpScript, "--port", String(port), "--users", usersFile];
  args.push("--access-token-ttl", String(options.accessTokenTtlSeconds ?? 300));
  for (const redirect of options.consoleRedirects ?? []) args.push("--console-redirect", redirect);
  if (options.deviceFlow === false) args.push("--no-device-flow");
  const child: ManagedProcess = startManagedProcess({ name: "dev-idp", command: process.execPath, args, dir });
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${issuer}/.well-known/openid-configuration`);
        if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      },
      { timeoutMs: options.startTimeoutMs ?? 30_000, what: "dev identity provider", abortReason: child.exitStatus },
    );
  } catch (error) {
    await child.stop();
    throw new Error(`${(error as Error).message}\n${child.logTail()}`, { cause: error });
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    issuer,
    port,
    setUsers,
    clientCredentials: (clientId, secret, resource) => clientCredentials(issuer, clientId, secret, resource),
    deviceSignIn: (login) => deviceSignIn(issuer, login),
    async rotateKeys() {
      const res = await fetch(`${issuer}/dev/rotate-keys`, { method: "POST" });
      if (!res.ok) throw new Error(`rotating keys: ${res.status}`);
      return ((await res.json()) as { kid: string }).kid;
    },
    logTail: child.logTail,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function tokenRequest(issuer: string, form: Record<string, string>, basic?: string): Promise<Response> {
  return await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(basic ? { authorization: `Basic ${Buffer.from(basic).toString("base64")}` } : {}),
    },
    body: new URLSearchParams(form),
  });
}

async function clientCredentials(issuer: string, clientId: string, secret: string, resource?: string): Promise<string> {
  const form = { grant_type: "client_credentials", scope: "plinth", ...(resource ? { resource } : {}) };
  const res = await tokenRequest(issuer, form, `${clientId}:${secret}`);
  if (!res.ok) throw new Error(`client credentials for ${clientId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as TokenResponse).access_token;
}

/**
 * What a person does in their browser for the device flow, as plain HTTP:
 * open the verification page, confirm the code, pick the user. Cookies are
 * kept as a browser would, so the provider sees one session throughout.
 */
export async function approveDeviceCode(verificationUriComplete: string, login: string): Promise<void> {
  const browser = createBrowser();
  const confirm = await browser.get(verificationUriComplete);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
  const userCode = /name="user_code" value="([^"]+)"/.exec(confirm.body)?.[1];
  if (!xsrf || !userCode) throw new Error(`no confirmation form on ${verificationUriComplete}:\n${confirm.body}`);
  const login1 = await browser.post(confirm.url, { xsrf, user_code: userCode, confirm: "yes" });
  const action = /<form method="post" action="([^"]+)"/.exec(login1.body)?.[1];
  if (!action) throw new Error(`no sign-in form after confirming the code:\n${login1.body}`);
  const done = await browser.post(new URL(action, login1.url).href, { login });
  if (!/Signed in/.test(done.body)) throw new Error(`device sign-in did not finish:\n${done.body}`);
}

/**
 * What a person does in their browser for the authorization code flow, as
 * plain HTTP: open the address the client printed, pick the user on the
 * provider's page, and follow the redirect back to the client (the CLI's
 * loopback port). Returns the page the client answered with.
 */
export async function approveAuthorization(authorizationUrl: string, login: string): Promise<Page> {
  const browser = createBrowser();
  const signInPage = await browser.get(authorizationUrl);
  const action = /<form method="post" action="([^"]+)"/.exec(signInPage.body)?.[1];
  if (!action) throw new Error(`no sign-in form at ${authorizationUrl}:\n${signInPage.body}`);
  return await browser.post(new URL(action, signInPage.url).href, { login });
}

async function deviceSignIn(issuer: string, login: string): Promise<TokenResponse> {
  const start = await fetch(`${issuer}/device/auth`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "plinth-cli", scope: "openid profile email offline_access plinth" }),
  });
  if (!start.ok) throw new Error(`device authorization: ${start.status} ${await start.text()}`);
  const device = (await start.json()) as { device_code: string; verification_uri_complete: string };
  await approveDeviceCode(device.verification_uri_complete, login);
  const res = await tokenRequest(issuer, {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: device.device_code,
    client_id: "plinth-cli",
  });
  if (!res.ok) throw new Error(`device token: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenResponse;
}

export interface Page {
  url: string;
  body: string;
}

/** Just enough of a browser for the provider's pages: a cookie jar and redirects followed by hand. */
function createBrowser() {
  const jar = new Map<string, string>();
  const send = async (url: string, init: RequestInit): Promise<Page> => {
    let current = url;
    let request = init;
    for (let hops = 0; hops < 20; hops++) {
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
      const res = await fetch(current, {
        ...request,
        redirect: "manual",
        headers: { ...(request.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
      });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const eq = pair?.indexOf("=") ?? -1;
        if (pair && eq > 0) {
          const value = pair.slice(eq + 1);
          if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, eq));
          else jar.set(pair.slice(0, eq), value);
        }
      }
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).href;
        request = { method: "GET" };
        continue;
      }
      return { url: current, body: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  };
  return {
    get: (url: string) => send(url, { method: "GET" }),
    post: (url: string, form: Record<string, string>) =>
      send(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      }),
  };
}
