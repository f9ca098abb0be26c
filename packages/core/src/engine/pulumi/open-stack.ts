import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  LocalWorkspace,
  type PulumiCommand,
  type PulumiFn,
  Stack,
  StackAlreadyExistsError,
} from "@pulumi/pulumi/automation/index.js";
import type { EngineJob } from "./child-protocol.ts";

/**
 * Whether the stack exists, read from the file backend's directory instead of
 * asking the CLI; undefined for other backends. Called with the resource's
 * lease held (or, for a preview, where a stack appearing meanwhile only costs
 * a fallback), so the answer cannot go stale before it is used.
 */
export function fileStackExists(backendUrl: string, projectName: string, stackName: string): boolean | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  const file = join(fileURLToPath(backendUrl.split("?")[0]!), ".pulumi", "stacks", projectName, `${stackName}.json`);
  return existsSync(file) || existsSync(`${file}.gz`);
}

/**
 * The Automation API stack of one job, with as few Pulumi CLI starts as the
 * backend allows. Each start costs about 0.2 CPU s, twice that when it
 * unlocks the passphrase secrets manager, and `createOrSelectStack` runs
 * `stack select` (which fails for a new stack) and then `stack init`. Every
 * command the Stack runs names its stack (`--stack`), so an existing stack
 * needs no `stack select`, and a new one only `stack init`. Other backends,
 * whose stacks cannot be seen from here, are created or selected as before.
 *
 * The stack's `up` and `destroy` no longer read its outputs and last history
 * entry back (`stack output` twice, `stack history`: three more CLI starts):
 * the caller takes the outputs from the engine's events (see
 * readStackOutputs) and has no use for the history's summary.
 */
export async function openStack(job: EngineJob, program: PulumiFn, pulumiCommand: PulumiCommand): Promise<Stack> {
  const workspace = await LocalWorkspace.create({
    program,
    pulumiCommand,
    workDir: job.workDir,
    projectSettings: { name: job.projectName, runtime: "nodejs", backend: { url: job.backendUrl } },
    envVars: job.env,
    secretsProvider: job.secretsProvider,
  });
  const stack = await selectOrCreate(workspace, job);
  stack.outputs = () => Promise.resolve({});
  stack.info = () => Promise.resolve(undefined);
  return stack;
}

async function selectOrCreate(workspace: LocalWorkspace, job: EngineJob): Promise<Stack> {
  switch (fileStackExists(job.backendUrl, job.projectName, job.stackName)) {
    case true:
      // `stack select` would only record the workspace's current stack, which no command here reads.
      workspace.selectStack = () => Promise.resolve();
      return await Stack.select(job.stackName, workspace);
    case false:
      try {
        return await Stack.create(job.stackName, workspace);
      } catch (error) {
        if (!(error instanceof StackAlreadyExistsError)) throw error;
        return await Stack.select(job.stackName, workspace);
      }
    case undefined:
      return await Stack.createOrSelect(job.stackName, workspace);
  }
}
