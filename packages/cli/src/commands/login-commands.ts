import type { Command } from "commander";
import * as oidc from "openid-client";
import { type CliContext, openSession } from "../cli-context.ts";
import { discover, forgetLogin, fromTokens, saveLogin } from "../login/stored-login.ts";
import { UsageError } from "../usage-error.ts";

interface LoginFlags {
  issuer?: string;
  clientId: string;
  scope: string;
}

/**
 * `plinth login` (the device authorization grant: open the printed address
 * anywhere, sign in, and the CLI receives its tokens), `plinth logout` and
 * `plinth whoami`. The tokens go to the user's config directory, 0600, and
 * are refreshed when they run out; PLINTH_TOKEN and --token still win.
 */
export function registerLoginCommands(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("sign in through your identity provider (device flow); tokens are kept 0600 in your config dir")
    .option("--issuer <url>", "the identity provider (default: $PLINTH_ISSUER)")
    .option("--client-id <id>", "the CLI's client id at the provider", "plinth-cli")
    .option("--scope <scopes>", "scopes to ask for", "openid profile email offline_access")
    .action(async (flags: LoginFlags) => {
      const issuer = flags.issuer ?? ctx.io.env["PLINTH_ISSUER"];
      if (!issuer) throw new UsageError("plinth login needs --issuer <url> or $PLINTH_ISSUER");
      const config = await discover(issuer, flags.clientId);
      const device = await oidc.initiateDeviceAuthorization(config, { scope: flags.scope });
      ctx.io.stderr.write(
        `To sign in, open ${device.verification_uri_complete ?? device.verification_uri}\n` +
          `and confirm the code ${device.user_code}. Waiting…\n`,
      );
      const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
      const file = saveLogin(ctx.io.env, fromTokens(issuer, flags.clientId, tokens));
      ctx.io.stderr.write(`Signed in; tokens kept in ${file}\n`);
    });

  program
    .command("logout")
    .description("forget the tokens plinth login kept")
    .action(() => {
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
