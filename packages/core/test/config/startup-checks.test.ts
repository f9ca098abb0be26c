import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type PostgresServer, freePort, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../support/test-service.ts";

const mainScript = join(import.meta.dirname, "../../src/main.ts");

/**
 * Runs the real server process (main.ts) on `config` until it says it serves
 * (then stops it) or exits: its exit code and what it wrote to stderr.
 */
async function startServer(
  config: Record<string, unknown>,
): Promise<{ served: boolean; code: number | null; stderr: string }> {
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
    let served = false;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("plinth: serving on ")) return;
      served = true;
      child.kill("SIGTERM");
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    return { served, code, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines a person reads (the server's JSON log lines aside). */
const plainLines = (stderr: string) => stderr.split("\n").filter((line) => line.trim() && !line.startsWith("{"));

describe("a server starting on a store and a Pulumi backend", { timeout: 180_000 }, () => {
  let database: PostgresServer;
  beforeAll(async () => {
    database = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await database?.stop();
  });

  it("derives a Pulumi backend it can use from a store URL without sslmode, against a PostgreSQL without TLS", async () => {
    const started = await startServer({ store: { postgres: { url: database.connectionString } } });
    expect(started.stderr).not.toMatch(/does not answer/);
    expect(started).toMatchObject({ served: true, code: 0 });
  });

  it("refuses to start, in one line saying what to fix, on a backend URL that needs TLS the server lacks", async () => {
    const started = await startServer({
      store: { postgres: { url: database.connectionString } },
      engine: { passphrase: "test-passphrase", backendUrl: database.connectionString },
    });
    expect(started.served).toBe(false);
    expect(started.code).toBe(1);
    const lines = plainLines(started.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^plinth: the Pulumi state backend does not answer: .*add \?sslmode=disable to engine\.backendUrl$/,
    );
    expect(lines[0]).not.toContain(database.password);
  });

  it("refuses to start, in one line, on a store that does not answer", async () => {
    const url = new URL(database.connectionString);
    url.port = String(await freePort());
    const started = await startServer({
      store: { postgres: { url: url.toString(), timeouts: { connectMs: 2_000 } } },
      engine: { passphrase: "test-passphrase", backendUrl: `file://${join(tmpdir(), "plinth-unused-state")}` },
    });
    expect(started.served).toBe(false);
    expect(started.code).toBe(1);
    const lines = plainLines(started.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^plinth: the PostgreSQL store does not answer: .*check store\.postgres$/);
    expect(lines[0]).not.toContain(database.password);
  });
});
