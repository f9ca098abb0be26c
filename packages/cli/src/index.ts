export { runCli } from "./run-cli.ts";
export type { CliIo, TextSink } from "./cli-io.ts";
export { ExitCode, exitCodeForError } from "./exit-codes.ts";
