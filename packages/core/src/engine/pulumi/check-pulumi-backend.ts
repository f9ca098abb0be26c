import { execFile } from "node:child_process";
import { join } from "node:path";
import { StartupCheckError } from "../../server/startup-check-error.ts";
import type { PulumiEngineSettings } from "./resolve-engine-settings.ts";

/** How long the backend may take to answer at start: a cold CLI start plus a connection, on a loaded machine. */
const checkTimeoutMs = 60_000;

/**
 * Fails, with one line saying what to fix, when the Pulumi CLI cannot use
 * the state backend (e.g. `postgres://` without `sslmode=disable` against a
 * PostgreSQL without TLS): a replica that started anyway would report ready
 * and then fail every change. Lists the backend's stacks, which opens it.
 */
export async function checkPulumiBackend(settings: PulumiEngineSettings): Promise<void> {
  const failure = await new Promise<string | undefined>((resolve) => {
    execFile(
      join(settings.pulumiRoot, "bin/pulumi"),
      ["stack", "ls", "--all", "--json", "--non-interactive"],
      {
        cwd: settings.workRoot,
        timeout: checkTimeoutMs,
        env: {
          ...process.env,
          PULUMI_BACKEND_URL: settings.backendUrl,
          PULUMI_HOME: settings.pulumiHome,
          PULUMI_CONFIG_PASSPHRASE: settings.passphrase,
          PULUMI_SKIP_UPDATE_CHECK: "true",
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        },
      },
      (error, _stdout, stderr) => {
        if (!error) return resolve(undefined);
        if (error.killed) return resolve(`no answer within ${checkTimeoutMs} ms`);
        const line = stderr
          .split("\n")
          .map((text) => text.replace(/^error:\s*/, "").trim())
          .find((text) => text.length > 0);
        resolve(line ?? error.message);
      },
    );
  });
  if (failure === undefined) return;
  // The URL may hold a password: never repeat it.
  const said = failure.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<backend URL>");
  const fix = /SSL is not enabled on the server/i.test(failure)
    ? "; the server has no TLS: add ?sslmode=disable to engine.backendUrl"
    : "; check engine.backendUrl";
  throw new StartupCheckError(`the Pulumi state backend does not answer: ${said}${fix}`);
}
