import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ListRevisionsResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { collectPages } from "../collect-pages.ts";
import { formatTime, messageJson, renderTable } from "../format.ts";
import { parseLimit } from "../parse-options.ts";

/** `plinth history TYPE NAME`: the revisions of a resource. */
export function registerHistoryCommand(program: Command, ctx: CliContext): void {
  program
    .command("history")
    .description("list the revisions of a resource")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .option("--limit <n>", "at most this many", parseLimit, 1000)
    .action(async (type: string, name: string, flags: { limit: number }, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const { items, nextPageToken } = await collectPages(flags.limit, async (pageSize, pageToken) => {
        const page = await client.resources.listRevisions({ type, name, pageSize, pageToken });
        return { items: page.revisions, nextPageToken: page.nextPageToken };
      });
      const response = create(ListRevisionsResponseSchema, { revisions: items, nextPageToken });
      print.result(messageJson(ListRevisionsResponseSchema, response), () =>
        renderTable(
          ["REVISION", "CHANGE", "REQUESTED BY", "APPROVED BY", "CREATED", "DELETED"],
          items.map((r) => [
            String(r.revision),
            r.changeId,
            r.requestedBy,
            r.approvedBy.join(", ") || "-",
            formatTime(r.createTime),
            r.deleted ? "yes" : "",
          ]),
        ),
      );
    });
}
