import type { Command } from "commander";
import { DeleteResourceResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followSubmission } from "../follow-submission.ts";
import { describeChange, messageJson } from "../format.ts";
import { parseRevision } from "../parse-options.ts";

interface DeleteFlags {
  message?: string;
  requestId?: string;
  expectedRevision?: bigint;
  wait?: boolean;
}

/** `plinth delete TYPE NAME`: request the deletion of a resource. */
export function registerDeleteCommand(program: Command, ctx: CliContext): void {
  program
    .command("delete")
    .description("request the deletion of a resource (usually reviewed)")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .option("-m, --message <comment>", "why")
    .option("--request-id <id>", "idempotency key (default: a new UUID)")
    .option("--expected-revision <n>", "refuse unless the resource is at this revision", parseRevision)
    .option("--wait", "follow the change until it is final")
    .action(async (type: string, name: string, flags: DeleteFlags, command: Command) => {
      const session = openSession(ctx, command);
      const response = await session.client.delete(type, name, {
        requestId: flags.requestId,
        expectedRevision: flags.expectedRevision,
        comment: flags.message,
      });
      await followSubmission(ctx, session, response, flags.wait === true);
      session.print.result(messageJson(DeleteResourceResponseSchema, response), () =>
        flags.wait && response.change ? `${describeChange(response.change)}\n` : "",
      );
    });
}
