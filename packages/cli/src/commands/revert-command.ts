import type { Command } from "commander";
import { RevertResourceResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followSubmission } from "../follow-submission.ts";
import { describeChange, messageJson } from "../format.ts";
import { parseRevision } from "../parse-options.ts";

interface RevertFlags {
  to: bigint;
  message?: string;
  requestId?: string;
  wait?: boolean;
}

/** `plinth revert TYPE NAME --to N`: a new change back to an earlier revision's spec. */
export function registerRevertCommand(program: Command, ctx: CliContext): void {
  program
    .command("revert")
    .description("submit a change back to an earlier revision's spec (reviewed like any change)")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .requiredOption("--to <n>", "the revision to go back to", parseRevision)
    .option("-m, --message <comment>", "why")
    .option("--request-id <id>", "idempotency key (default: a new UUID)")
    .option("--wait", "follow the change until it is final")
    .action(async (type: string, name: string, flags: RevertFlags, command: Command) => {
      const session = openSession(ctx, command);
      const { client } = session;
      const response = await client.resources.revertResource({
        type,
        name,
        revision: flags.to,
        requestId: flags.requestId ?? crypto.randomUUID(),
        comment: flags.message ?? "",
      });
      await followSubmission(ctx, session, response, flags.wait === true);
      session.print.result(messageJson(RevertResourceResponseSchema, response), () => {
        if (response.noOp || !response.change) {
          return `${type}/${name}: no change, revision ${flags.to} is already in force\n`;
        }
        return flags.wait ? `${describeChange(response.change)}\n` : "";
      });
    });
}
