import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { ChangeSchema, type Change, type PlinthClient } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { describeChange, messageJson } from "../format.ts";

interface Decision {
  name: string;
  description: string;
  /** Whether `-m` is required (reject and cancel must say why). */
  comment: "none" | "optional" | "required";
  call(client: PlinthClient, id: string, comment: string): Promise<{ change?: Change }>;
}

const decisions: Decision[] = [
  {
    name: "approve",
    description: "approve a change waiting for review (not your own)",
    comment: "optional",
    call: (client, id, comment) => client.changes.approveChange({ id, comment }),
  },
  {
    name: "reject",
    description: "reject a change waiting for review",
    comment: "required",
    call: (client, id, comment) => client.changes.rejectChange({ id, comment }),
  },
  {
    name: "cancel",
    description: "cancel a change that has not started applying",
    comment: "required",
    call: (client, id, comment) => client.changes.cancelChange({ id, comment }),
  },
  {
    name: "retry",
    description: "re-queue a failed change",
    comment: "none",
    call: (client, id) => client.changes.retryChange({ id }),
  },
];

/** `plinth approve|reject|cancel|retry ID`: decisions on one change; each prints the change after it. */
export function registerReviewCommands(program: Command, ctx: CliContext): void {
  for (const decision of decisions) {
    const command = program.command(decision.name).description(decision.description).argument("<id>", "change id");
    if (decision.comment === "required") {
      command.requiredOption("-m, --message <comment>", "why (required)");
    } else if (decision.comment === "optional") {
      command.option("-m, --message <comment>", "comment");
    }
    command.action(async (id: string, flags: { message?: string }, self: Command) => {
      const { client, print } = openSession(ctx, self);
      const { change } = await decision.call(client, id, flags.message ?? "");
      if (!change) {
        throw new ConnectError(`the server returned no change for ${id}`, Code.Internal);
      }
      print.result(messageJson(ChangeSchema, change), () => `${describeChange(change)}\n`);
    });
  }
}
