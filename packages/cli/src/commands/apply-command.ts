import type { Command } from "commander";
import { ApplyResourceResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { followSubmission } from "../follow-submission.ts";
import { describeChange, messageJson } from "../format.ts";
import { applyFolder } from "../apply-folder.ts";
import { folderSourceName, isFolder } from "../manifest-folder.ts";
import { parseRevision } from "../parse-options.ts";
import { addFolderOptions, folderOptions, type FolderFlags } from "../folder-options.ts";
import { readManifest } from "../read-manifest.ts";
import { UsageError } from "../usage-error.ts";

interface ApplyFlags extends FolderFlags {
  file: string;
  requestId?: string;
  expectedRevision?: bigint;
  wait?: boolean;
  overrideGuardrails?: boolean;
  plan?: string;
}

/** `plinth apply -f FILE|DIR`: create or update the resource a manifest describes, or a folder's resources. */
export function registerApplyCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command("apply")
    .description(
      "create or update a resource from a manifest {type, name, spec, comment?, labels?}, or every resource of a folder of them",
    )
    .requiredOption("-f, --file <path>", "YAML or JSON manifest, or a folder of them; - reads stdin")
    .option("--request-id <id>", "idempotency key (default: a new UUID)")
    .option(
      "--expected-revision <n>",
      "refuse unless the resource is at this revision (0: must not exist)",
      parseRevision,
    )
    .option("--override-guardrails", "admins only: proceed despite guardrail violations (reviewed and audited)")
    .option("--wait", "follow the change until it is final (a folder: each change, in dependency order)")
    .option("--plan <id>", "a folder: submit exactly this plan from plinth plan, refused if anything changed since");
  addFolderOptions(command, "delete");
  command.action(async (flags: ApplyFlags, invoked: Command) => {
    const session = openSession(ctx, invoked);
    if (await isFolder(flags.file)) {
      if (flags.requestId !== undefined || flags.expectedRevision !== undefined || flags.overrideGuardrails) {
        throw new UsageError(
          "--request-id, --expected-revision and --override-guardrails apply to one manifest, not a folder",
        );
      }
      if (flags.plan !== undefined && flags.prune) {
        throw new UsageError("--plan submits the plan as it was made: give --prune to plinth plan instead");
      }
      await applyFolder(ctx, session, flags.file, {
        ...folderOptions(flags, folderSourceName(flags.file)),
        wait: flags.wait === true,
        planId: flags.plan,
      });
      return;
    }
    if (flags.prune || flags.source !== undefined || flags.plan !== undefined) {
      throw new UsageError("--prune, --source and --plan need a folder: -f DIR");
    }
    const manifest = await readManifest(flags.file, ctx.io);
    const response = await session.client.apply(manifest.type, manifest.name, manifest.spec, {
      requestId: flags.requestId,
      expectedRevision: flags.expectedRevision,
      comment: manifest.comment,
      labels: manifest.labels,
      overrideGuardrails: flags.overrideGuardrails === true,
    });
    await followSubmission(ctx, session, response, flags.wait === true);
    session.print.result(messageJson(ApplyResourceResponseSchema, response), () => {
      if (response.noOp && response.change && !flags.wait) {
        return `${manifest.type}/${manifest.name}: no new change; ${describeChange(response.change)} already leads to this spec\n`;
      }
      if (response.noOp || !response.change) {
        return `${manifest.type}/${manifest.name}: no change, already at revision ${response.resource?.revision ?? 0n}\n`;
      }
      return flags.wait ? `${describeChange(response.change)}\n` : "";
    });
  });
}
