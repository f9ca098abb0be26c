import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pulumiBinDir, pulumiEnv } from "@plinth/testing";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";

/**
 * A Pulumi stack for an inline program on a file backend in a fresh
 * directory (inside the test run's scratch directory, removed by the global
 * teardown), driven through the Automation API and the pinned CLI.
 */
export async function createLocalStack(stackName: string, program: PulumiFn): Promise<Stack> {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "plugin-kafka-stack-"));
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  const pulumiCommand = await PulumiCommand.get({ root: join(pulumiBinDir(), "..") });
  return LocalWorkspace.createOrSelectStack(
    { projectName: "plugin-kafka", stackName, program },
    {
      pulumiCommand,
      // Project files go to the scratch directory, never into the package.
      workDir: dir,
      projectSettings: { name: "plugin-kafka", runtime: "nodejs", backend: { url: `file://${stateDir}` } },
      envVars: {
        ...pulumiEnv(),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "plugin-kafka-test",
      },
    },
  );
}
