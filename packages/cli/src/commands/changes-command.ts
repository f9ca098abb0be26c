import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ChangeStatus, ReviewDecision, ListChangesResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { collectPages } from "../collect-pages.ts";
import {
  changeKindName,
  changeStatusName,
  describeAccessRequest,
  formatTime,
  messageJson,
  renderTable,
} from "../format.ts";
import { parseChangeStatus, parseLimit } from "../parse-options.ts";
import { UsageError } from "../usage-error.ts";

interface ChangesFlags {
  pending?: boolean;
  status?: ChangeStatus;
  type?: string;
  name?: string;
  team?: string;
  limit: number;
}

/** `plinth changes`: changes, filtered; `--pending` is the review queue. */
export function registerChangesCommand(program: Command, ctx: CliContext): void {
  program
    .command("changes")
    .description("list changes")
    .option("--pending", "only changes waiting for review (same as --status pending-review)")
    .option("--status <status>", "only changes in this status (queued, failed, ...)", parseChangeStatus)
    .option("--type <type>", "only this resource type")
    .option("--name <name>", "only this resource name")
    .option("--team <team>", "only this team's changes")
    .option("--limit <n>", "at most this many", parseLimit, 1000)
    .action(async (flags: ChangesFlags, command: Command) => {
      if (flags.pending && flags.status !== undefined && flags.status !== ChangeStatus.PENDING_REVIEW) {
        throw new UsageError("--pending cannot be combined with another --status");
      }
      const status = flags.pending ? ChangeStatus.PENDING_REVIEW : flags.status;
      const { client, print } = openSession(ctx, command);
      const { items, nextPageToken } = await collectPages(flags.limit, async (pageSize, pageToken) => {
        const page = await client.changes.listChanges({
          status,
          type: flags.type ?? "",
          name: flags.name ?? "",
          team: flags.team ?? "",
          pageSize,
          pageToken,
        });
        return { items: page.changes, nextPageToken: page.nextPageToken };
      });
      const response = create(ListChangesResponseSchema, { changes: items, nextPageToken });
      print.result(messageJson(ListChangesResponseSchema, response), () =>
        renderTable(
          ["ID", "TYPE", "NAME", "KIND", "STATUS", "REQUESTED BY", "APPROVALS", "CREATED", "ASKS OTHER TEAMS"],
          items.map((c) => [
            c.id,
            c.type,
            c.name,
            changeKindName(c.kind),
            changeStatusName(c.status),
            c.requestedBy,
            `${c.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).length}/${c.requiredApprovals}`,
            formatTime(c.createTime),
            c.accessRequests.map(describeAccessRequest).join("\n"),
          ]),
        ),
      );
    });
}
