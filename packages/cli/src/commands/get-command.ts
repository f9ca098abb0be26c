import type { Command } from "commander";
import { ResourceSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { formatTime, messageJson, resourceStatusName, yamlBlock } from "../format.ts";

/** `plinth get TYPE NAME`: one resource as of its latest revision. */
export function registerGetCommand(program: Command, ctx: CliContext): void {
  program
    .command("get")
    .description("show a resource as of its latest revision")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<name>", "resource name")
    .action(async (type: string, name: string, _flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const resource = await client.get(type, name);
      print.result(messageJson(ResourceSchema, resource), () => {
        const labels = Object.entries(resource.labels).map(([key, value]) => `${key}=${value}`);
        const lines = [
          `${resource.type}/${resource.name}`,
          `  team:      ${resource.ownerTeam}`,
          `  status:    ${resourceStatusName(resource.status)}`,
          `  revision:  ${resource.revision}`,
          `  labels:    ${labels.join(", ") || "-"}`,
          `  created:   ${formatTime(resource.createTime)}`,
          `  updated:   ${formatTime(resource.updateTime)}`,
        ];
        if (resource.drift) {
          lines.push(`  drift:     detected ${formatTime(resource.drift.detectTime)}`);
          for (const finding of resource.drift.findings) lines.push(`             - ${finding}`);
          lines.push(`             (repair with: plinth reconcile ${resource.type} ${resource.name})`);
        }
        if (resource.dependents.length > 0) {
          lines.push("  dependents:");
          for (const dependent of resource.dependents) lines.push(`             - ${dependent}`);
        }
        if (resource.secretOutputKeys.length > 0) {
          lines.push(`  secrets:   ${resource.secretOutputKeys.join(", ")} (not shown)`);
        }
        return [
          `${lines.join("\n")}\n`,
          `spec:\n${yamlBlock(resource.spec)}`,
          `resolved spec:\n${yamlBlock(resource.resolvedSpec)}`,
          `outputs:\n${yamlBlock(resource.outputs)}`,
        ].join("");
      });
    });
}
