import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { type ResourceStatus, ListResourcesResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { collectPages } from "../collect-pages.ts";
import { formatTime, messageJson, renderTable, resourceStatusName } from "../format.ts";
import { parseLimit, parseResourceStatus } from "../parse-options.ts";

interface ListFlags {
  type?: string;
  team?: string;
  status?: ResourceStatus;
  limit: number;
}

/** `plinth list`: resources, filtered. */
export function registerListCommand(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .description("list resources")
    .option("--type <type>", "only this resource type")
    .option("--team <team>", "only resources this team owns")
    .option("--status <status>", "only resources in this status (ready, failed, drifted, ...)", parseResourceStatus)
    .option("--limit <n>", "at most this many", parseLimit, 1000)
    .action(async (flags: ListFlags, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const { items, nextPageToken } = await collectPages(flags.limit, async (pageSize, pageToken) => {
        const page = await client.resources.listResources({
          type: flags.type ?? "",
          team: flags.team ?? "",
          status: flags.status,
          pageSize,
          pageToken,
        });
        return { items: page.resources, nextPageToken: page.nextPageToken };
      });
      const response = create(ListResourcesResponseSchema, { resources: items, nextPageToken });
      print.result(messageJson(ListResourcesResponseSchema, response), () =>
        renderTable(
          ["TYPE", "NAME", "TEAM", "STATUS", "REVISION", "UPDATED"],
          items.map((r) => [
            r.type,
            r.name,
            r.ownerTeam,
            resourceStatusName(r.status),
            String(r.revision),
            formatTime(r.updateTime),
          ]),
        ),
      );
    });
}
