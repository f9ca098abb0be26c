import type { Command } from "commander";
import { ListPluginsResponseSchema, PluginSchema } from "@plinth/sdk";
import { Code, ConnectError } from "@connectrpc/connect";
import { openSession, type CliContext } from "../cli-context.ts";
import { messageJson, renderTable, yamlBlock } from "../format.ts";

/** `plinth plugins` and `plinth plugins get TYPE`: the resource types the server knows. */
export function registerPluginsCommand(program: Command, ctx: CliContext): void {
  const plugins = program
    .command("plugins")
    .description("list the resource types the server knows; `plugins get TYPE` shows one")
    .action(async (_flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const response = await client.plugins.listPlugins({});
      print.result(messageJson(ListPluginsResponseSchema, response), () =>
        renderTable(
          ["TYPE", "VERSION", "DESCRIPTION"],
          response.plugins.map((p) => [p.type, p.version, p.description]),
        ),
      );
    });
  plugins
    .command("get")
    .description("show a plugin: version, review policy, secret outputs and the JSON Schema of its spec")
    .argument("<type>", "resource type, e.g. kafka.topic")
    .action(async (type: string, _flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const { plugin } = await client.plugins.getPlugin({ type });
      if (!plugin) {
        throw new ConnectError(`the server returned no plugin for ${type}`, Code.Internal);
      }
      print.result(messageJson(PluginSchema, plugin), () =>
        [
          `${plugin.type} ${plugin.version}\n`,
          plugin.description ? `  ${plugin.description}\n` : "",
          `review:          ${plugin.reviewPolicy || "-"}\n`,
          `secret outputs:  ${plugin.secretOutputs.join(", ") || "-"}\n`,
          `spec schema:\n${yamlBlock(plugin.specSchema)}`,
        ].join(""),
      );
    });
}
