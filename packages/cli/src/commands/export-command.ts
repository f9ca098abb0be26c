import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { Code, ConnectError } from "@connectrpc/connect";
import { ResourceStatus, type Resource } from "@plinth/sdk";
import { stringify } from "yaml";
import { openSession, type CliContext } from "../cli-context.ts";
import { collectPages } from "../collect-pages.ts";
import { sourceLabel } from "../source-label.ts";
import { UsageError } from "../usage-error.ts";

interface ExportFlags {
  output: string;
  team?: string;
  all?: boolean;
}

/**
 * `plinth export -o DIR`: the managed resources of a team (or all, for an
 * admin) as a folder `apply -f DIR` takes back unchanged, one file
 * `<type>/<name>.yaml` each.
 */
export function registerExportCommand(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .description("write a team's resources as a folder of manifests that apply -f takes back unchanged")
    .requiredOption("-o, --output <dir>", "the folder to write; must be empty or not exist")
    .option("--team <team>", "the team whose resources to write (default: yours)")
    .option("--all", "admins only: every team's resources")
    .action(async (flags: ExportFlags, command: Command) => {
      if (flags.all && flags.team !== undefined) throw new UsageError("--all and --team exclude each other");
      const { client, print } = openSession(ctx, command);
      const me = await client.identity.whoAmI({});
      const memberships = me.teams.length > 0 ? me.teams : [{ team: me.team, roles: me.roles }];
      const admin = memberships.some((membership) => membership.roles.includes("admin"));
      const team = flags.all ? "" : (flags.team ?? me.team);
      // ListResources lets any signed-in caller read every team's resources (as `plinth list` does), so
      // this is no access control: it keeps a team's folder to what that team owns and may change.
      if (flags.all && !admin) {
        throw new ConnectError(
          `--all exports every team's resources: admins only (${me.id} is not an admin)`,
          Code.PermissionDenied,
        );
      }
      if (!admin && !memberships.some((membership) => membership.team === team)) {
        throw new ConnectError(
          `${me.id} may export the resources of ${memberships.map((m) => m.team).join(", ")} only, not of team ${team}`,
          Code.PermissionDenied,
        );
      }
      await checkEmptyOutput(flags.output);
      const { items } = await collectPages(Number.MAX_SAFE_INTEGER, async (pageSize, pageToken) => {
        const page = await client.resources.listResources({ team, pageSize, pageToken });
        return { items: page.resources, nextPageToken: page.nextPageToken };
      });
      // A deleted resource is history; one never applied (revision 0) has no spec to take back yet.
      const live = items.filter((resource) => resource.status !== ResourceStatus.DELETED && resource.revision > 0n);
      const files: string[] = [];
      for (const resource of live) {
        const file = `${resource.type}/${resource.name}.yaml`;
        await mkdir(join(flags.output, resource.type), { recursive: true });
        await writeFile(join(flags.output, file), stringify(exportedManifest(resource)));
        files.push(file);
      }
      print.result({ output: flags.output, team: team || undefined, files }, () => {
        const skipped = items.length - live.length;
        return `wrote ${files.length} manifest(s) to ${flags.output}${skipped > 0 ? ` (${skipped} deleted or never applied left out)` : ""}\n`;
      });
    });
}

/** Type, name, labels and the spec as written: never outputs, which may hold what only RevealSecret shows. */
function exportedManifest(resource: Resource): Record<string, unknown> {
  // The source label belongs to the folder, not the file: apply sets it from --source.
  const labels = Object.fromEntries(Object.entries(resource.labels).filter(([key]) => key !== sourceLabel));
  return {
    type: resource.type,
    name: resource.name,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    spec: resource.spec ?? {},
  };
}

async function checkEmptyOutput(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0) {
      throw new UsageError(`${dir} is not empty: export writes a fresh folder, so no stale file is applied again`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot use ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
