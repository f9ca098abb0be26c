import type { Command } from "commander";
import { ListAccessGrantsResponseSchema } from "../../gen/plinth/v1/resource_service_pb.ts";
import { openSession, type CliContext } from "../cli-context.ts";
import { formatTime, messageJson, renderTable } from "../format.ts";

interface GrantsFlags {
  type?: string;
  ownerTeam?: string;
  requesterTeam?: string;
}

/** `plinth grants`: what resources reach that another team owns: who reads whose topics, approved by whom, since when. */
export function registerGrantsCommand(program: Command, ctx: CliContext): void {
  program
    .command("grants")
    .description("list cross-team access: which resource reaches what another team owns, who approved it, since when")
    .option("--type <type>", "only this resource type, e.g. kafka.user")
    .option("--owner-team <team>", "only access to what this team owns")
    .option("--requester-team <team>", "only access this team's resources have")
    .action(async (flags: GrantsFlags, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const response = await client.resources.listAccessGrants({
        type: flags.type ?? "",
        ownerTeam: flags.ownerTeam ?? "",
        requesterTeam: flags.requesterTeam ?? "",
      });
      print.result(messageJson(ListAccessGrantsResponseSchema, response), () =>
        renderTable(
          ["RESOURCE", "TEAM", "ACCESS", "OWNED BY", "APPROVED BY", "SINCE"],
          response.grants.map((grant) => [
            `${grant.type}/${grant.name}`,
            grant.requesterTeam,
            grant.access,
            grant.ownerTeam,
            grant.approvedBy.join(", ") || "nobody of the owner",
            grant.since ? formatTime(grant.since) : "-",
          ]),
        ),
      );
    });
}
