import { ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { fieldViolations } from "@plinth/sdk";
import { certificateError } from "./certificate-error.ts";
import { createCliContext } from "./cli-context.ts";
import type { CliIo } from "./cli-io.ts";
import { createProgram } from "./create-program.ts";
import { ExitCode, exitCodeForError } from "./exit-codes.ts";

/**
 * Runs `plinth` with `argv` (the arguments only, without `node` and the
 * script) and resolves with its exit code (see {@link ExitCode}). Never
 * exits the process and never rejects: every error is reported on
 * `io.stderr` as one line, followed by one `field: description` line per
 * field violation.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx = createCliContext(io);
  try {
    await createProgram(ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed it; --help exits 0, everything else is usage (`plan`: its own code).
      if ("planExitCode" in error) return error.planExitCode as ExitCode;
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const certificate = certificateError(error);
    if (certificate) {
      io.stderr.write(
        `error: the server's TLS certificate was refused (${certificate.code}: ${certificate.message});\n` +
          `  if a private CA signed it, give that CA's certificate with --ca-file <pem> or PLINTH_CA_FILE\n`,
      );
      return ctx.errorExitCode ?? exitCodeForError(error);
    }
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof ConnectError) {
      for (const { field, description } of fieldViolations(error)) {
        io.stderr.write(`  ${field}: ${description}\n`);
      }
    }
    return ctx.errorExitCode ?? exitCodeForError(error);
  }
}
