/**
 * The development identity provider: a real OpenID provider (`oidc-provider`,
 * OpenID-certified) on loopback, with the people and services of a users file.
 * `make start` and the tests run it as its own Node process:
 *
 *   node dev-idp.ts --port 9400 --users users.json [--access-token-ttl 300] [--console-redirect URL]... [--no-device-flow]
 *
 * It issues JWT access tokens for the audience "plinth" carrying `groups`,
 * `email` and `preferred_username`, by the device flow and the code flow with
 * PKCE (clients `plinth-cli` and `plinth-console`) and by client credentials
 * (the users file's services); `--no-device-flow` leaves the device flow out,
 * as at providers without it. Refresh tokens can be revoked (RFC 7009), and
 * the console signs out at `end_session_endpoint`. The users file is read again for every token, so
 * moving someone between groups takes effect at their next token, as at a real
 * provider. `POST /dev/rotate-keys` puts a new signing key first (the old one
 * stays published) to exercise key rotation. There are no passwords: anyone
 * who can reach the loopback port signs in as any development user. Never run
 * it anywhere but a developer's machine.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { parseArgs } from "node:util";
import Provider from "oidc-provider";

export interface DevUser {
  id: string;
  email?: string;
  name?: string;
  groups: string[];
}

export interface DevService {
  clientId: string;
  secret: string;
  groups: string[];
}

export interface DevUsersFile {
  users: DevUser[];
  services: DevService[];
}

/** The resource indicator Plinth's tokens are issued for, and their audience. */
export const devResource = "urn:plinth:api";
export const devAudience = "plinth";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    users: { type: "string" },
    "access-token-ttl": { type: "string", default: "300" },
    "console-redirect": { type: "string", multiple: true, default: [] },
    "no-device-flow": { type: "boolean", default: false },
  },
});
if (!values.port || !values.users) {
  process.stderr.write(
    "usage: dev-idp.ts --port N --users users.json [--access-token-ttl S] [--console-redirect URL] [--no-device-flow]\n",
  );
  process.exit(2);
}
const port = Number(values.port);
const usersPath = values.users;
const accessTokenTtl = Number(values["access-token-ttl"]);
const issuer = `http://127.0.0.1:${port}`;

const readUsers = (): DevUsersFile => {
  const parsed = JSON.parse(readFileSync(usersPath, "utf8")) as Partial<DevUsersFile>;
  return { users: parsed.users ?? [], services: parsed.services ?? [] };
};

const newKey = (): Record<string, unknown> => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), use: "sig", alg: "RS256" };
};

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

// Plain pages with no external assets: the library's defaults load web fonts from the internet.
const page = (title: string, body: string) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;

function userClaims(user: DevUser): Record<string, unknown> {
  return {
    email: user.email ?? `${user.id}@dev.plinth.localhost`,
    preferred_username: user.id,
    name: user.name ?? user.id,
    groups: user.groups,
  };
}

const cookieKeys = [randomBytes(32).toString("hex")];
const keys = [newKey()];

function createProvider(): Provider {
  const services = readUsers().services;
  const cliRedirects = ["http://127.0.0.1/callback", "http://localhost/callback"];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "plinth-cli",
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: [
          ...(values["no-device-flow"] ? [] : ["urn:ietf:params:oauth:grant-type:device_code"]),
          "authorization_code",
          "refresh_token",
        ],
        response_types: ["code"],
        redirect_uris: cliRedirects,
      },
      {
        client_id: "plinth-console",
        application_type: "web",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: values["console-redirect"].length > 0 ? values["console-redirect"] : ["http://127.0.0.1:8080/"],
        post_logout_redirect_uris:
          values["console-redirect"].length > 0 ? values["console-redirect"] : ["http://127.0.0.1:8080/"],
      },
      ...services.map((service) => ({
        client_id: service.clientId,
        client_secret: service.secret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      })),
    ],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    scopes: ["openid", "profile", "email", "offline_access", "plinth"],
    claims: { openid: ["sub"], profile: ["name", "preferred_username", "groups"], email: ["email"] },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: accessTokenTtl,
      RefreshToken: 86_400,
    },
    async findAccount(_ctx, id) {
      const user = readUsers().users.find((candidate) => candidate.id === id);
      if (!user) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...userClaims(user) }) };
    },
    async extraTokenClaims(_ctx, token) {
      const { users, services: current } = readUsers();
      const accountId = (token as { accountId?: string }).accountId;
      if (accountId) {
        const user = users.find((candidate) => candidate.id === accountId);
        return user ? userClaims(user) : { groups: [] };
      }
      const service = current.find((candidate) => candidate.clientId === (token as { clientId?: string }).clientId);
      return { groups: service?.groups ?? [] };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page(
            "Sign out",
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page("Signed out", "<p>You are signed out of the development provider.</p>");
        },
      },
      deviceFlow: {
        enabled: !values["no-device-flow"],
        userCodeInputSource: async (ctx, form) => {
          ctx.body = page(
            "Enter the code your device shows",
            `${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
          );
        },
        userCodeConfirmSource: async (ctx, form, _client, _info, userCode) => {
          ctx.body = page(
            "Confirm the device",
            `<p>Code <code>${escape(userCode)}</code></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`,
          );
        },
        successSource: async (ctx) => {
          ctx.body = page("Signed in", "<p>You may close this window and return to your device.</p>");
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => devResource,
        useGrantedResource: async () => true,
        // Another resource's tokens (e.g. `resource=urn:other`) carry that resource as their audience:
        // what a token meant for another service looks like.
        getResourceServerInfo: async (_ctx, resource) => ({
          scope: "plinth",
          audience: resource === devResource ? devAudience : resource,
          accessTokenFormat: "jwt",
          accessTokenTTL: accessTokenTtl,
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = page(
        "Error",
        Object.entries(out)
          .map(([key, value]) => `<p><b>${escape(key)}</b>: ${escape(String(value))}</p>`)
          .join(""),
      );
    },
  });
  return provider;
}

let provider = createProvider();

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = "";
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction does not match its cookie");
  if (req.method === "GET") {
    const options = readUsers()
      .users.map(
        (user) => `<option value="${escape(user.id)}">${escape(user.id)} (${escape(user.groups.join(", "))})</option>`,
      )
      .join("");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      page(
        "Sign in to the development provider",
        `<form method="post" action="/interaction/${escape(uid)}"><label>User <select name="login">${options}</select></label>` +
          `<button type="submit">Sign in</button></form>`,
      ),
    );
    return;
  }
  const login = (await readForm(req)).get("login") ?? "";
  if (!readUsers().users.some((user) => user.id === login)) {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end(`no development user ${login}\n`);
    return;
  }
  const clientId = String(details.params.client_id);
  const grant = details.grantId
    ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId: login, clientId }))
    : new provider.Grant({ accountId: login, clientId });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  grant.addOIDCClaims(["name", "preferred_username", "groups", "email"]);
  grant.addResourceScope(devResource, "plinth");
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: login }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", issuer);
  const match = /^\/interaction\/([^/]+)$/.exec(url.pathname);
  if (match?.[1]) {
    interaction(req, res, match[1]).catch((error: unknown) => {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`${error instanceof Error ? error.message : String(error)}\n`);
    });
    return;
  }
  if (url.pathname === "/dev/rotate-keys" && req.method === "POST") {
    const key = newKey();
    keys.unshift(key);
    provider = createProvider();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kid: key.kid }));
    return;
  }
  void provider.callback()(req, res);
});
// Longer than any client's idle keep-alive, so that a client never sends on a connection this side is closing.
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`development identity provider on ${issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
