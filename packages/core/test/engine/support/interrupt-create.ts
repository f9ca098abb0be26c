import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  outputs?: object;
}

/**
 * Rewrites a stack's state (file backend, project "plinth") as a SIGKILL
 * between "create requested" and "create saved" leaves it: the resource of
 * `type` is no longer in the state, only a pending "creating" operation.
 * Done by hand because a real kill cannot choose its side of the provider
 * call; the SIGKILL test covers the real thing.
 */
export function interruptCreate(dataDir: string, stackName: string, type: string): void {
  const file = join(dataDir, "pulumi/.pulumi/stacks/plinth", `${stackName}.json`);
  const state = JSON.parse(readFileSync(file, "utf8")) as {
    checkpoint: { latest: { resources: StateResource[]; pending_operations?: object[] } };
  };
  const deployment = state.checkpoint.latest;
  const resource = deployment.resources.find((candidate) => candidate.type === type);
  if (!resource) throw new Error(`no ${type} in the state of ${stackName}`);
  deployment.resources = deployment.resources.filter((candidate) => candidate !== resource);
  deployment.pending_operations = [{ resource: { ...resource, id: "", outputs: {} }, type: "creating" }];
  writeFileSync(file, JSON.stringify(state));
}
