import type { Command } from "commander";
import { InventoryState, ListInventoryResponseSchema } from "@plinth/sdk";
import { openSession, type CliContext } from "../cli-context.ts";
import { messageJson } from "../format.ts";

const stateNames: Record<InventoryState, string> = {
  [InventoryState.UNSPECIFIED]: "?",
  [InventoryState.MANAGED]: "managed",
  [InventoryState.UNMANAGED]: "unmanaged",
  [InventoryState.DRIFTED]: "drifted",
};

/** `plinth inventory TYPE SCOPE`: what the real system holds, managed or not (e.g. a Kafka cluster's topics). */
export function registerInventoryCommand(program: Command, ctx: CliContext): void {
  program
    .command("inventory")
    .description("list what the real system holds in a scope (e.g. a cluster), marked managed, unmanaged or drifted")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .argument("<scope>", "plugin scope, e.g. the cluster name for kafka.topic")
    .action(async (type: string, scope: string, _flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const response = await client.plugins.listInventory({ type, scope });
      print.result(messageJson(ListInventoryResponseSchema, response), () => {
        if (response.items.length === 0) return `${type} in ${scope}: nothing there\n`;
        const width = Math.max(4, ...response.items.map((item) => item.name.length));
        const rows = response.items.map((item) => {
          const observed = Object.entries(item.observed ?? {})
            .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
            .join(" ");
          const held = item.resourceName && item.resourceName !== item.name ? ` (as ${item.resourceName})` : "";
          const findings = item.findings.map((finding) => `\n${" ".repeat(width + 14)}- ${finding}`).join("");
          return `${item.name.padEnd(width)}  ${stateNames[item.state].padEnd(10)}  ${observed}${held}${findings}`;
        });
        return `${"NAME".padEnd(width)}  ${"STATE".padEnd(10)}  OBSERVED\n${rows.join("\n")}\n`;
      });
    });
}
