import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { openSession, type CliContext } from "../cli-context.ts";

/** `plinth reveal TYPE NAME KEY`: one secret output, for the owning team or an admin; audited by the server. */
export function registerRevealCommand(program: Command, ctx: CliContext): void {
  program
    .command("reveal")
    .description("print one secret output (owning team or admin only; every reveal is audited)")
    .argument("<type>", "resource type, e.g. postgres.database")
    .argument("<name>", "resource name")
    .argument("<key>", "secret output key, as listed by `plinth get`")
    .action(async (type: string, name: string, key: string, _flags: unknown, command: Command) => {
      const { client, print } = openSession(ctx, command);
      const { value } = await client.resources.revealSecret({ type, name, key });
      const json = value ? toJson(ValueSchema, value) : null;
      print.result({ value: json }, () => `${typeof json === "string" ? json : JSON.stringify(json)}\n`);
    });
}
