import type { Command } from "commander";
import { ReconcileResourceResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followSubmission } from "../follow-submission.ts";
import { describeChange, messageJson } from "../format.ts";

interface ReconcileFlags {
  message?: string;
  requestId?: string;
  wait?: boolean;
}

/** `plinth reconcile TYPE NAME`: re-apply the recorded spec, repairing drift (reviewed like any change). */
export function registerReconcileCommand(program: Command, ctx: CliContext): void {
  program
    .command("reconcile")
    .description("re-apply a resource's recorded spec to repair drift (reviewed like any change)")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .option("-m, --message <comment>", "why")
    .option("--request-id <id>", "idempotency key (default: a new UUID)")
    .option("--wait", "follow the change until it is final")
    .action(async (type: string, name: string, flags: ReconcileFlags, command: Command) => {
      const session = openSession(ctx, command);
      const response = await session.client.resources.reconcileResource({
        type,
        name,
        requestId: flags.requestId ?? crypto.randomUUID(),
        comment: flags.message ?? "",
      });
      await followSubmission(ctx, session, response, flags.wait === true);
      session.print.result(messageJson(ReconcileResourceResponseSchema, response), () =>
        flags.wait && response.change ? `${describeChange(response.change)}\n` : "",
      );
    });
}
