import type { Command } from "commander";
import { GetTeamUsageResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { messageJson, renderTable } from "../format.ts";

/** `plinth usage`: a team's usage against its quotas, per type, scope and metric. */
export function registerUsageCommand(program: Command, ctx: CliContext): void {
  program
    .command("usage")
    .description("show a team's usage against its quotas (default: your team)")
    .option("--team <team>", "another team")
    .action(async (flags: { team?: string }, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const response = await client.resources.getTeamUsage({ team: flags.team ?? "" });
      print.result(messageJson(GetTeamUsageResponseSchema, response), () =>
        renderTable(
          ["TYPE", "SCOPE", "METRIC", "USED", "LIMIT"],
          response.usage.map((row) => [
            row.type,
            row.scope,
            row.metric,
            String(row.used),
            row.limit === undefined ? "unlimited" : String(row.limit),
          ]),
        ),
      );
    });
}
