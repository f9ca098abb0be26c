import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
import { pulumiBinDir, pulumiEnv, repoRoot } from "../../src/index.ts";
import { scratchDir } from "../../src/scratch-dir.ts";

/**
 * A Pulumi stack for an inline program, on a file backend in a fresh
 * directory, driven through the Automation API and the pinned CLI.
 */
export async function createLocalStack(projectName: string, program: PulumiFn): Promise<{ stack: Stack; dir: string }> {
  const dir = scratchDir("plinth-pulumi");
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  const pulumiCommand = await PulumiCommand.get({ root: join(pulumiBinDir(), "..") });
  const stack = await LocalWorkspace.createOrSelectStack(
    { projectName, stackName: "smoke", program },
    {
      pulumiCommand,
      // A scratch workDir keeps Pulumi.yaml out of the source tree; the dynamic
      // provider launcher then finds @pulumi/pulumi (and pg) through NODE_PATH.
      workDir: dir,
      projectSettings: { name: projectName, runtime: "nodejs", backend: { url: `file://${stateDir}` } },
      envVars: {
        ...pulumiEnv(),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "smoke-test-passphrase",
        NODE_PATH: join(repoRoot, "packages/testing/node_modules"),
      },
    },
  );
  return { stack, dir };
}
