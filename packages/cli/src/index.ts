export { runCli } from "./run-cli.ts";
export type { CliIo, TextSink } from "./cli-io.ts";
export { ExitCode, PlanExitCode, exitCodeForError } from "./exit-codes.ts";
