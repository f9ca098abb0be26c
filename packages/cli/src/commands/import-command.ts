import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { parse } from "yaml";
import { type Import, ImportSchema, ImportStatus } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { messageJson } from "../format.ts";
import { UsageError } from "../usage-error.ts";

interface RuleInput {
  prefix: string;
  team: string;
  contact: string;
}

const statusNames: Record<ImportStatus, string> = {
  [ImportStatus.UNSPECIFIED]: "?",
  [ImportStatus.PLANNED]: "PLANNED (dry run: nothing recorded)",
  [ImportStatus.PENDING_REVIEW]: "PENDING_REVIEW",
  [ImportStatus.RECORDING]: "RECORDING (approved; resources being recorded: approve again to finish)",
  [ImportStatus.IMPORTED]: "IMPORTED",
  [ImportStatus.REJECTED]: "REJECTED",
};

/** Skipped items listed in full by the human output; the rest are counted (`--json` has them all). */
const skippedShown = 20;

/**
 * The owner rules of a YAML or JSON file: a list, or `rules:` holding one,
 * of `{ prefix, team, contact }`. Only the shape is checked here; the server
 * checks the values and names every bad field (`rules.2.team`).
 */
export function readOwnerRules(file: string): RuleInput[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--rules: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new UsageError(`--rules: ${file} is not YAML or JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(document) ? document : (document as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(list)) {
    throw new UsageError(`--rules: ${file} must hold a list of { prefix, team, contact }, or "rules:" with one`);
  }
  return list.map((entry: unknown, index) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new UsageError(`--rules: ${file}: rules.${index} is not a { prefix, team, contact } mapping`);
    }
    const text = (value: unknown) => (value === undefined || value === null ? "" : String(value));
    const rule = entry as Record<string, unknown>;
    return { prefix: text(rule.prefix), team: text(rule.team), contact: text(rule.contact) };
  });
}

/** An import for a terminal: its status, each receiving team's share, and why items were skipped. */
export function describeImport(record: Import): string {
  const lines = [
    `${record.id ? `import ${record.id}` : "plan"} of ${record.type} in ${record.scope}: ${statusNames[record.status]}`,
    `${record.resources.length} resource(s) to bring under management, ${record.skipped.length} skipped`,
  ];
  const width = Math.max(4, ...record.teams.map((team) => team.team.length));
  for (const team of record.teams) {
    const approved = team.approvedBy.length > 0 ? `  approved by ${team.approvedBy.join(", ")}` : "";
    lines.push(`  ${team.team.padEnd(width)}  ${String(team.resources).padStart(6)} resource(s)${approved}`);
  }
  if (record.skipped.length > 0) {
    lines.push("skipped:");
    for (const skip of record.skipped.slice(0, skippedShown)) lines.push(`  ${skip.name}: ${skip.reason}`);
    if (record.skipped.length > skippedShown) {
      lines.push(`  ... and ${record.skipped.length - skippedShown} more (--json lists them all)`);
    }
  }
  if (record.status === ImportStatus.PENDING_REVIEW) {
    lines.push(`a reviewer of each receiving team (or an admin) approves with: plinth imports approve ${record.id}`);
  }
  return `${lines.join("\n")}\n`;
}

function printImport(ctx: CliContext, command: Command, record: Import | undefined): void {
  if (!record) throw new ConnectError("the server returned no import", Code.Internal);
  openSession(ctx, command).print.result(messageJson(ImportSchema, record), () => describeImport(record));
}

/**
 * `plinth import TYPE SCOPE --rules FILE`: brings what a scope holds that
 * Plinth does not manage under management as one import, reviewed once;
 * `plinth imports get|approve|reject ID` follow it up.
 */
export function registerImportCommands(program: Command, ctx: CliContext): void {
  program
    .command("import")
    .description(
      "bring what a scope (e.g. a cluster) holds that Plinth does not manage under management, reviewed once",
    )
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<scope>", "plugin scope, e.g. the cluster name for kafka.topic")
    .requiredOption("--rules <file>", "owner rules, YAML or JSON: a list of { prefix, team, contact }")
    .option("--dry-run", "only show what would be imported; record nothing")
    .option("--request-id <id>", "idempotency key: sending the same one again returns the same import")
    .option("-m, --message <comment>", "comment for the reviewers")
    .action(
      async (
        type: string,
        scope: string,
        flags: { rules: string; dryRun?: boolean; requestId?: string; message?: string },
        self: Command,
      ) => {
        const rules = readOwnerRules(flags.rules);
        const { client } = openSession(ctx, self);
        const response = await client.imports.importResources({
          type,
          scope,
          rules,
          dryRun: flags.dryRun === true,
          requestId: flags.requestId ?? "",
          comment: flags.message ?? "",
        });
        printImport(ctx, self, response.import);
      },
    );
  const imports = program.command("imports").description("follow up an import: get, approve or reject it");
  imports
    .command("get")
    .description("show an import")
    .argument("<id>", "import id")
    .action(async (id: string, _flags: unknown, self: Command) => {
      printImport(ctx, self, (await openSession(ctx, self).client.imports.getImport({ id })).import);
    });
  imports
    .command("approve")
    .description("approve an import for the receiving teams you review for (an admin: all of them)")
    .argument("<id>", "import id")
    .option("-m, --message <comment>", "comment")
    .option("--team <team>", "approve for this receiving team only")
    .action(async (id: string, flags: { message?: string; team?: string }, self: Command) => {
      const { client } = openSession(ctx, self);
      const response = await client.imports.approveImport({ id, comment: flags.message ?? "", team: flags.team ?? "" });
      printImport(ctx, self, response.import);
    });
  imports
    .command("reject")
    .description("reject a whole import: nothing is recorded")
    .argument("<id>", "import id")
    .requiredOption("-m, --message <comment>", "why (required)")
    .action(async (id: string, flags: { message: string }, self: Command) => {
      const response = await openSession(ctx, self).client.imports.rejectImport({ id, comment: flags.message });
      printImport(ctx, self, response.import);
    });
}
