import type { JsonRecord, AnyPlugin, ProgramRun, RegisteredResource, RunProgramOptions } from "./types.ts";
import type * as PulumiModule from "@pulumi/pulumi";
import { resolveSpec, parseSettings } from "./plugin-checks.ts";

/**
 * Runs a plugin's Pulumi program under Pulumi's mocks (no engine, no
 * provider, no infrastructure): what it would register, with which inputs,
 * and what it returns. Each call starts from a fresh mock monitor, so nothing
 * one run registers is seen by the next. Runs are serialized: Pulumi's
 * runtime state is one per process.
 */
export async function runProgram(
  plugin: AnyPlugin,
  spec: JsonRecord,
  options: RunProgramOptions = {},
): Promise<ProgramRun> {
  const run = queue.then(() => runOnce(plugin, spec, options));
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return await run;
}

type PulumiSdk = typeof PulumiModule;

let queue: Promise<void> = Promise.resolve();

async function runOnce(plugin: AnyPlugin, spec: JsonRecord, options: RunProgramOptions): Promise<ProgramRun> {
  // Imported here: loading the Pulumi SDK costs a second, and only this function needs it.
  const pulumi = await import("@pulumi/pulumi");
  const name = options.name ?? "test";
  const settings = parseSettings(plugin, options.settings ?? {});
  const resolved: unknown = options.resolve === false ? spec : resolveSpec(plugin, name, spec, settings);
  const resources: RegisteredResource[] = [];
  const mocks = options.mocks ?? {};
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = (args.inputs ?? {}) as JsonRecord;
        resources.push({ type: args.type, name: args.name, inputs });
        const answer = mocks.newResource?.({
          type: args.type,
          name: args.name,
          inputs,
          ...(args.provider === undefined ? {} : { provider: args.provider }),
          ...(args.id === undefined ? {} : { id: args.id }),
        });
        return { id: answer?.id ?? args.id ?? `${args.name}-id`, state: answer?.state ?? inputs };
      },
      call: (args) =>
        mocks.call?.({
          token: args.token,
          inputs: (args.inputs ?? {}) as JsonRecord,
          ...(args.provider === undefined ? {} : { provider: args.provider }),
        }) ?? {},
    },
    "plinth",
    `${plugin.type}--${name}`,
    false,
  );
  const returned = await plugin.program({ name, spec: resolved, settings });
  const outputs = await settle(pulumi, returned);
  // Registrations not feeding an output may still be in flight.
  await pulumi.runtime.disconnect();
  return { resources, outputs, spec: resolved as JsonRecord };
}

/** Resolves every Output inside the returned record (secrets unwrapped). */
async function settle(pulumi: PulumiSdk, returned: Record<string, unknown>): Promise<JsonRecord> {
  const entries = await Promise.all(
    Object.entries(returned).map(
      async ([key, value]) =>
        [key, await new Promise<unknown>((resolve) => pulumi.unsecret(pulumi.output(value)).apply(resolve))] as const,
    ),
  );
  return Object.fromEntries(entries);
}
