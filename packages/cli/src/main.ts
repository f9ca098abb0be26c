import { runCli } from "./run-cli.ts";

/**
 * The `plinth` executable: runs the CLI on this process's arguments and
 * streams, then exits with its code once stdout and stderr are flushed. It
 * exits explicitly because an idle HTTP/2 session would keep it alive.
 */
export async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
  });
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
