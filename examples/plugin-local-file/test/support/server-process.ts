import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { waitFor } from "@plinth/testing";

/** Waits until a Plinth server process says "serving on <url>" and returns the URL; fails with its output if it exits first. */
export async function servingUrl(server: ChildProcessWithoutNullStreams, what: string): Promise<string> {
  let said = "";
  server.stdout.on("data", (chunk: Buffer) => (said += chunk.toString()));
  server.stderr.on("data", (chunk: Buffer) => (said += chunk.toString()));
  return await waitFor(
    async () => {
      const found = /serving on (http:\/\/\S+)/.exec(said)?.[1];
      if (!found) throw new Error("not serving yet");
      return found;
    },
    {
      what,
      timeoutMs: 60_000,
      abortReason: () => (server.exitCode === null ? undefined : `exited ${server.exitCode}: ${said}`),
    },
  );
}

/** SIGTERM, then waits until the process is gone. */
export async function stopServer(server: ChildProcessWithoutNullStreams): Promise<void> {
  server.kill("SIGTERM");
  await new Promise((resolve) => (server.exitCode === null ? server.once("exit", resolve) : resolve(undefined)));
}
