import { Command, Option } from "commander";
import type { CliContext } from "./cli-context.ts";
import { registerApplyCommand } from "./commands/apply-command.ts";
import { registerChangesCommand } from "./commands/changes-command.ts";
import { registerDeleteCommand } from "./commands/delete-command.ts";
import { registerDiffCommand } from "./commands/diff-command.ts";
import { registerExportCommand } from "./commands/export-command.ts";
import { registerGetCommand } from "./commands/get-command.ts";
import { registerGrantsCommand } from "./commands/grants-command.ts";
import { registerHistoryCommand } from "./commands/history-command.ts";
import { registerImportCommands } from "./commands/import-command.ts";
import { registerInventoryCommand } from "./commands/inventory-command.ts";
import { registerListCommand } from "./commands/list-command.ts";
import { registerLoginCommands } from "./commands/login-commands.ts";
import { registerPlanCommand } from "./commands/plan-command.ts";
import { registerPluginsCommand } from "./commands/plugins-command.ts";
import { registerReconcileCommand } from "./commands/reconcile-command.ts";
import { registerRevealCommand } from "./commands/reveal-command.ts";
import { registerRevertCommand } from "./commands/revert-command.ts";
import { registerReviewCommands } from "./commands/review-commands.ts";
import { registerUsageCommand } from "./commands/usage-command.ts";
import { registerWatchCommand } from "./commands/watch-command.ts";
import { exitCodesHelp } from "./exit-codes.ts";

/**
 * The `plinth` command tree. It never exits the process: commander's own
 * exits are turned into exceptions (`exitOverride`) and all output goes to
 * `ctx.io`, so `runCli` decides the exit code.
 */
export function createProgram(ctx: CliContext): Command {
  const program = new Command("plinth")
    .description("Create, change and review infrastructure resources through a Plinth server.")
    .option(
      "--url <url>",
      "server URL; repeat it (or give $PLINTH_URL=a,b) to name several replicas: a call that cannot reach one goes to the next (default: $PLINTH_URL or http://127.0.0.1:8080)",
      (url: string, previous: string[] | undefined) => [...(previous ?? []), url],
    )
    .option(
      "--ca-file <file>",
      "trust the CA certificate(s) in this PEM file for https URLs (default: $PLINTH_CA_FILE)",
    )
    .option(
      "--token-file <file>",
      "read the bearer token from this file (default: $PLINTH_TOKEN, then $PLINTH_TOKEN_FILE)",
    )
    .option("--token <token>", "bearer token; visible in shell history and process listings, prefer the two above")
    .addOption(new Option("--protocol <protocol>", "wire protocol").choices(["connect", "grpc", "grpc-web"]))
    .option("--json", "print one JSON document on stdout (int64 as strings); progress goes to stderr")
    .addHelpText("after", exitCodesHelp)
    // Set before the subcommands are added: they inherit both.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .showHelpAfterError("(run plinth --help for usage)");
  registerApplyCommand(program, ctx);
  registerPlanCommand(program, ctx);
  registerExportCommand(program, ctx);
  registerDeleteCommand(program, ctx);
  registerGetCommand(program, ctx);
  registerListCommand(program, ctx);
  registerHistoryCommand(program, ctx);
  registerDiffCommand(program, ctx);
  registerRevertCommand(program, ctx);
  registerRevealCommand(program, ctx);
  registerReconcileCommand(program, ctx);
  registerChangesCommand(program, ctx);
  registerReviewCommands(program, ctx);
  registerWatchCommand(program, ctx);
  registerPluginsCommand(program, ctx);
  registerInventoryCommand(program, ctx);
  registerImportCommands(program, ctx);
  registerGrantsCommand(program, ctx);
  registerUsageCommand(program, ctx);
  registerLoginCommands(program, ctx);
  return program;
}
