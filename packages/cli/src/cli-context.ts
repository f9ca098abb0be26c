import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createPlinthClient, type PlinthClient, type PlinthProtocol, type TokenSource } from "@plinth/sdk";
import type { CliIo } from "./cli-io.ts";
import { ExitCode } from "./exit-codes.ts";
import { createPrinter, type Printer } from "./printer.ts";
import { UsageError } from "./usage-error.ts";
import { storedAccessToken } from "./login/stored-login.ts";

/** The options every command accepts. */
export interface GlobalOptions {
  url?: string[];
  caFile?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
  protocol?: PlinthProtocol;
}

/** State shared by the commands of one `runCli` call. */
export interface CliContext {
  readonly io: CliIo;
  /** Set by a command that ran but whose change did not succeed. */
  exitCode: ExitCode;
  /** Set by a command whose errors all exit with one code (`plan`: 1), whatever the error. */
  errorExitCode?: ExitCode;
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
export function openSession(ctx: CliContext, command: Command, json?: boolean): Session {
  const options = command.optsWithGlobals<GlobalOptions>();
  const client = createPlinthClient({
    baseUrl: serverUrls(ctx, options),
    ca: readCaFile(ctx, options),
    token: resolveToken(ctx, options),
    protocol: options.protocol,
    transport: ctx.io.transport,
    retry: ctx.io.retry,
  });
  return { client, print: createPrinter(ctx.io, json === true || options.json === true) };
}

/** --url (repeated), else $PLINTH_URL split at commas, else the default; each one checked. */
function serverUrls(ctx: CliContext, options: GlobalOptions): string[] {
  const from = options.url ? "--url" : "PLINTH_URL";
  const urls = options.url ?? (ctx.io.env["PLINTH_URL"] ?? defaultUrl).split(",").map((url) => url.trim());
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new UsageError(`${from}: "${url}" is not an http:// or https:// URL`);
    }
  }
  return urls;
}

/** The PEM text of --ca-file, else of $PLINTH_CA_FILE: the CA to trust for https URLs. */
function readCaFile(ctx: CliContext, options: GlobalOptions): string | undefined {
  const [file, from] = options.caFile
    ? [options.caFile, "--ca-file"]
    : [ctx.io.env["PLINTH_CA_FILE"], "PLINTH_CA_FILE"];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`${from}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`${from}: ${file} holds no PEM certificate`);
  return text;
}

function readTokenFile(file: string, from: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`${from}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`${from}: ${file} is empty`);
  return token;
}

/**
 * The bearer token: --token, then --token-file, then $PLINTH_TOKEN, then the
 * file $PLINTH_TOKEN_FILE names, then the tokens `plinth login` kept. --token works but is warned about: the token
 * lands in the shell history and in every `ps` listing on the machine.
 */
function resolveToken(ctx: CliContext, options: GlobalOptions): TokenSource {
  if (options.token !== undefined) {
    ctx.io.stderr.write(
      "plinth: warning: --token exposes the token in your shell history and in process listings; use PLINTH_TOKEN or --token-file instead\n",
    );
    return options.token;
  }
  if (options.tokenFile !== undefined) return readTokenFile(options.tokenFile, "--token-file");
  const fromEnv = ctx.io.env["PLINTH_TOKEN"];
  if (fromEnv) return fromEnv;
  const file = ctx.io.env["PLINTH_TOKEN_FILE"];
  if (file) return readTokenFile(file, "PLINTH_TOKEN_FILE");
  // Last, what `plinth login` kept: refreshed when it runs out, once for all the calls of this command.
  let current: Promise<string | undefined> | undefined;
  let until = 0;
  return async () => {
    if (!current || Date.now() > until) {
      current = storedAccessToken(ctx.io.env);
      until = Date.now() + 10_000;
    }
    return await current;
  };
}
