import { execFile } from "node:child_process";
import { join } from "node:path";
import { StartupCheckError } from "../../server/startup-check-error.ts";
import type { PulumiEngineSettings } from "./resolve-engine-settings.ts";

/** How long the backend may take to answer at start: a cold CLI start plus a connection, on a loaded machine. */
const checkTimeoutMs = 60_000;
/** About 200 bytes a stack: room for a million. */
const listingMaxBytes = 256 * 1024 * 1024;

/**
 * Fails, with one line saying what to fix, when the Pulumi CLI cannot use
 * the state backend (e.g. `postgres://` without `sslmode=disable` against a
 * PostgreSQL without TLS): a replica that started anyway would report ready
 * and then fail every change. Lists the backend's stacks, which opens it,
 * and returns the names of those of this project (`settings.projectName`).
 */
export async function checkPulumiBackend(settings: PulumiEngineSettings): Promise<ReadonlySet<string>> {
  let listed = "";
  const failure = await new Promise<string | undefined>((resolve) => {
    execFile(
      join(settings.pulumiRoot, "bin/pulumi"),
      ["stack", "ls", "--all", "--json", "--non-interactive"],
      {
        cwd: settings.workRoot,
        timeout: checkTimeoutMs,
        // One line of JSON per stack: a large estate lists well past the default 1 MiB.
        maxBuffer: listingMaxBytes,
        env: {
          ...process.env,
          PULUMI_BACKEND_URL: settings.backendUrl,
          PULUMI_HOME: settings.pulumiHome,
          PULUMI_CONFIG_PASSPHRASE: settings.passphrase,
          PULUMI_SKIP_UPDATE_CHECK: "true",
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        },
      },
      (error, stdout, stderr) => {
        listed = stdout;
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
  if (failure === undefined) return projectStacks(listed, settings.projectName);
  // The URL may hold a password: never repeat it.
  const said = failure.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<backend URL>");
  const fix = /SSL is not enabled on the server/i.test(failure)
    ? "; the server has no TLS: add ?sslmode=disable to engine.backendUrl"
    : "; check engine.backendUrl";
  throw new StartupCheckError(`the Pulumi state backend does not answer: ${said}${fix}`);
}

/** Stack names of `project` in `pulumi stack ls --json`'s output, whose names read `organization/<project>/<stack>`. */
function projectStacks(listed: string, project: string): ReadonlySet<string> {
  const names = (JSON.parse(listed) as { name: string }[]).map((stack) => stack.name.split("/"));
  return new Set(names.filter((parts) => parts.at(-2) === project).map((parts) => parts.at(-1)!));
}
