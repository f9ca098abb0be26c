import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlinthClient } from "@plinth/sdk";
import { expect, it } from "vitest";
import { servingUrl, stopServer } from "./support/server-process.ts";

const exampleDir = join(import.meta.dirname, "..");
const main = join(exampleDir, "../../packages/core/src/main.ts");

// The plugin as an operator runs it: `plinth.yaml` names ./src/index.ts, the
// server process loads it through tsx, and a requester creates a file.
it("plinth.yaml loads local.file by path; applying a spec writes the file", { timeout: 120_000 }, async () => {
  const scratch = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "local-file-service-"));
  const root = join(scratch, "files");
  const env = Object.fromEntries(
    Object.entries({ ...process.env, LOCAL_FILE_ROOT: root, PLINTH_DATA_DIR: join(scratch, "data") }).filter(
      ([key]) => !key.startsWith("VITEST"),
    ),
  );
  const server = spawn(process.execPath, ["--import", "tsx", main, "--config", "plinth.yaml"], {
    cwd: exampleDir,
    env,
  });
  try {
    const url = await servingUrl(server, "the example service");
    const client = createPlinthClient({ baseUrl: url, token: "dev-requester" });
    const applied = await client.apply("local.file", "motd", { path: "etc/motd", content: "welcome\n" });
    const change = await client.waitForChange(applied.change!.id);
    expect(change.lastError).toBe("");
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("welcome\n");
    expect((await client.get("local.file", "motd")).outputs?.file).toBe(join(root, "etc/motd"));
  } finally {
    await stopServer(server);
  }
});
