import type { Command } from "commander";
import * as oidc from "openid-client";
import { type CliContext, openSession } from "../cli-context.ts";
import { loopbackSignIn } from "../login/loopback-sign-in.ts";
import { discover, forgetLogin, fromTokens, loadLogin, saveLogin } from "../login/stored-login.ts";
import { UsageError } from "../usage-error.ts";

interface LoginFlags {
  issuer?: string;
  clientId: string;
  scope: string;
  flow?: string;
  port?: string;
  open: boolean;
}

/** The device flow where the provider offers it; otherwise the browser and a loopback redirect. */
async function signIn(ctx: CliContext, config: oidc.Configuration, flags: LoginFlags) {
  const flow = flags.flow ?? (config.serverMetadata().device_authorization_endpoint ? "device" : "browser");
  if (flow === "browser") {
    const port = flags.port === undefined ? 0 : Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be 0 to 65535");
    return await loopbackSignIn(config, {
      scope: flags.scope,
      port,
      openBrowser: flags.open && process.stderr.isTTY,
      stderr: ctx.io.stderr,
    });
  }
  if (flow !== "device") throw new UsageError(`--flow is device or browser, not ${flow}`);
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new UsageError("the identity provider offers no device flow: use --flow browser");
  }
  const device = await oidc.initiateDeviceAuthorization(config, { scope: flags.scope });
  ctx.io.stderr.write(
    `To sign in, open ${device.verification_uri_complete ?? device.verification_uri}\n` +
      `and confirm the code ${device.user_code}. Waiting…\n`,
  );
  return await oidc.pollDeviceAuthorizationGrant(config, device);
}

/** Revokes the refresh token at the provider (RFC 7009) where it offers that; a reason when it could not. */
async function revoke(refreshToken: string, issuer: string, clientId: string): Promise<string | undefined> {
  try {
    const config = await discover(issuer, clientId);
    if (!config.serverMetadata().revocation_endpoint) return "the identity provider offers no revocation";
    await oidc.tokenRevocation(config, refreshToken, { token_type_hint: "refresh_token" });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * `plinth login` (the device authorization grant: open the printed address
 * anywhere, sign in, and the CLI receives its tokens; where the provider has
 * no device flow, the browser with a redirect back to a loopback port),
 * `plinth logout` (revokes the refresh token at the provider, forgets the
 * tokens) and `plinth whoami`. The tokens go to the user's config directory,
 * 0600, and are refreshed when they run out; PLINTH_TOKEN and --token still win.
 */
export function registerLoginCommands(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("sign in through your identity provider; tokens are kept 0600 in your config dir")
    .option("--issuer <url>", "the identity provider (default: $PLINTH_ISSUER)")
    .option("--client-id <id>", "the CLI's client id at the provider", "plinth-cli")
    .option("--scope <scopes>", "scopes to ask for", "openid profile email offline_access")
    .option(
      "--flow <flow>",
      "device (open the address on any device) or browser (this machine's browser, redirect to a loopback port); default: device where the provider offers it",
    )
    .option("--port <port>", "browser flow: the loopback port to listen on (default: any free one)")
    .option("--no-open", "browser flow: print the address only, do not open a browser")
    .action(async (flags: LoginFlags) => {
      const issuer = flags.issuer ?? ctx.io.env["PLINTH_ISSUER"];
      if (!issuer) throw new UsageError("plinth login needs --issuer <url> or $PLINTH_ISSUER");
      const config = await discover(issuer, flags.clientId);
      const tokens = await signIn(ctx, config, flags);
      const file = saveLogin(ctx.io.env, fromTokens(issuer, flags.clientId, tokens));
      ctx.io.stderr.write(`Signed in; tokens kept in ${file}\n`);
    });

  program
    .command("logout")
    .description("revoke the refresh token at the identity provider and forget the tokens plinth login kept")
    .action(async () => {
      const login = loadLogin(ctx.io.env);
      const failed = login?.refreshToken ? await revoke(login.refreshToken, login.issuer, login.clientId) : undefined;
      if (failed) ctx.io.stderr.write(`warning: the refresh token was not revoked at the provider (${failed})\n`);
      ctx.io.stderr.write(forgetLogin(ctx.io.env) ? "Signed out.\n" : "Not signed in.\n");
    });

  program
    .command("whoami")
    .description("who the server takes you for: id, teams and roles, and the identity provider")
    .action(async (_flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const me = await client.identity.whoAmI({});
      const teams = me.teams.map((m) => ({ team: m.team, roles: [...m.roles] }));
      print.result({ id: me.id, teams, issuer: me.issuer, subject: me.subject }, () =>
        [
          `${me.id}${me.issuer ? ` (${me.subject} at ${me.issuer})` : " (static token)"}\n`,
          ...teams.map((m) => `  ${m.team}: ${m.roles.join(", ")}\n`),
        ].join(""),
      );
    });
}
