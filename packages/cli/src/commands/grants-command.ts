import type { Command } from "commander";
import { ListAccessGrantsResponseSchema, RevokeAccessGrantResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followSubmission } from "../follow-submission.ts";
import { describeChange, formatTime, messageJson, renderTable } from "../format.ts";

interface GrantsFlags {
  type?: string;
  ownerTeam?: string;
  requesterTeam?: string;
}

interface RevokeFlags {
  message?: string;
  requestId?: string;
  team?: string;
  wait?: boolean;
}

/**
 * `plinth grants`: what resources reach that another team owns: who reads whose topics, approved by whom, since when.
 * `plinth grants revoke TYPE NAME FIELD`: the owning team withdraws one of them.
 */
export function registerGrantsCommand(program: Command, ctx: CliContext): void {
  const grants = program.command("grants");
  grants
    .command("revoke")
    .description("as a reviewer of the team owning what is reached, remove a grant from another team's resource")
    .argument("<type>", "resource type, e.g. kafka.user")
    .argument("<name>", "the resource that reaches, e.g. payments-reader")
    .argument("<field>", "the grant's field, as `plinth grants` shows it, e.g. access.0.topics")
    .option("-m, --message <comment>", "why")
    .option("--request-id <id>", "idempotency key (default: a new UUID)")
    .option("--team <team>", "the owning team to revoke for (default: whichever of yours owns what is reached)")
    .option("--wait", "follow the change until it is final")
    .action(async (type: string, name: string, field: string, flags: RevokeFlags, command: Command) => {
      const session = openSession(ctx, command);
      const response = await session.client.resources.revokeAccessGrant({
        type,
        name,
        field,
        requestId: flags.requestId ?? crypto.randomUUID(),
        comment: flags.message ?? "",
        team: flags.team ?? "",
      });
      await followSubmission(ctx, session, response, flags.wait === true);
      session.print.result(messageJson(RevokeAccessGrantResponseSchema, response), () =>
        flags.wait && response.change ? `${describeChange(response.change)}\n` : "",
      );
    });
  grants
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
          ["RESOURCE", "FIELD", "TEAM", "ACCESS", "OWNED BY", "APPROVED BY", "SINCE"],
          response.grants.map((grant) => [
            `${grant.type}/${grant.name}`,
            grant.field,
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
