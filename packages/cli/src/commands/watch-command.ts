import type { Command } from "commander";
import { ChangeEventSchema, ChangeSchema, type ChangeEvent } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followChange } from "../follow-change.ts";
import { describeChange, messageJson } from "../format.ts";

/**
 * `plinth watch ID`: live progress of a change until it is final. Exit code 0
 * only if it succeeded. With `--json`, progress goes to stderr and stdout gets
 * `{change, events}` at the end.
 */
export function registerWatchCommand(program: Command, ctx: CliContext): void {
  program
    .command("watch")
    .description("follow a change until it is final; exit 0 only if it succeeded")
    .argument("<id>", "change id")
    .action(async (id: string, _flags: unknown, command: Command) => {
      const session = openSession(ctx, command);
      const events: ChangeEvent[] = [];
      const change = await followChange(ctx, session, id, (event) => events.push(event));
      session.print.result(
        { change: messageJson(ChangeSchema, change), events: events.map((e) => messageJson(ChangeEventSchema, e)) },
        () => `${describeChange(change)}\n`,
      );
    });
}
