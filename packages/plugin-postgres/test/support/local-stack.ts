import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiBinDir, pulumiEnv } from "@plinth/testing";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";

/**
 * A Pulumi stack for an inline program on a file backend in a fresh
 * directory (inside the test run's scratch directory), driven through the
 * Automation API and the pinned CLI. NODE_PATH is this package's
 * node_modules, as the engine sets it, so the dynamic provider host finds
 * `pg` and `@pulumi/pulumi`.
 */
export async function createLocalStack(stackName: string, program: PulumiFn): Promise<Stack> {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "plugin-postgres-stack-"));
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  const pulumiCommand = await PulumiCommand.get({ root: join(pulumiBinDir(), "..") });
  return LocalWorkspace.createOrSelectStack(
    { projectName: "plugin-postgres", stackName, program },
    {
      pulumiCommand,
      workDir: dir,
      projectSettings: { name: "plugin-postgres", runtime: "nodejs", backend: { url: `file://${stateDir}` } },
      envVars: {
        ...pulumiEnv(),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "plugin-postgres-test",
        NODE_PATH: join(import.meta.dirname, "../../node_modules"),
      },
    },
  );
}
