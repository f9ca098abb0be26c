import type { Command } from "commander";
import { createPlinthClient, type PlinthClient } from "../client/create-plinth-client.ts";
import type { PlinthProtocol } from "../client/create-node-transport.ts";
import type { CliIo } from "./cli-io.ts";
import { ExitCode } from "./exit-codes.ts";
import { createPrinter, type Printer } from "./printer.ts";

/** The options every command accepts. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
  protocol?: PlinthProtocol;
}

/** State shared by the commands of one `runCli` call. */
export interface CliContext {
  readonly io: CliIo;
  /** Set by a command that ran but whose change did not succeed. */
  exitCode: ExitCode;
}

/** What an action works with: a client and a printer, configured by the global options. */
export interface Session {
  client: PlinthClient;
  print: Printer;
}

export const defaultUrl = "http://127.0.0.1:8080";

export function createCliContext(io: CliIo): CliContext {
  return { io, exitCode: ExitCode.Ok };
}

/** Builds the session of `command` from its options, then the environment, then defaults. */
export function openSession(ctx: CliContext, command: Command): Session {
  const options = command.optsWithGlobals<GlobalOptions>();
  const client = createPlinthClient({
    baseUrl: options.url ?? ctx.io.env["PLINTH_URL"] ?? defaultUrl,
    token: options.token ?? ctx.io.env["PLINTH_TOKEN"],
    protocol: options.protocol,
    transport: ctx.io.transport,
    retry: ctx.io.retry,
  });
  return { client, print: createPrinter(ctx.io, options.json === true) };
}
