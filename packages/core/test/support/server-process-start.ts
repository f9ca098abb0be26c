import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "@plinth/testing";
import { testConfig } from "./test-service.ts";

const mainScript = join(import.meta.dirname, "../../src/main.ts");

export interface ServerStart {
  /** Whether it said it serves. */
  served: boolean;
  code: number | null;
  stderr: string;
}

/**
 * Runs the real server process (main.ts) on `config` (over testConfig's, in a
 * data dir of its own unless `config.dataDir` names one) until it says it
 * serves, then runs `whileServing` against its URL and stops it with SIGTERM,
 * or until it exits: whether it served, its exit code and its stderr.
 */
export async function startServerProcess(
  config: Record<string, unknown>,
  whileServing: (url: string) => Promise<void> = async () => undefined,
): Promise<ServerStart> {
  const dir = mkdtempSync(join(tmpdir(), "plinth-startup-"));
  try {
    const file = join(dir, "plinth.yaml");
    // JSON is YAML.
    writeFileSync(file, JSON.stringify({ ...testConfig(join(dir, "data")), ...config }));
    const child = spawn(process.execPath, ["--import", "tsx", mainScript, "--config", file], {
      cwd: join(import.meta.dirname, "../.."),
      env: { ...process.env, PLINTH_PORT: String(await freePort()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    let served = false;
    let failure: unknown;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const serving = /^plinth: serving on (\S+)/.exec(line);
      if (!serving) return;
      served = true;
      whileServing(serving[1]!)
        .catch((error: unknown) => (failure = error))
        .finally(() => child.kill("SIGTERM"));
    });
    const code = await exited;
    if (failure) throw failure;
    return { served, code, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines a person reads (the server's JSON log lines aside). */
export const plainLines = (stderr: string): string[] =>
  stderr.split("\n").filter((line) => line.trim() && !line.startsWith("{"));
