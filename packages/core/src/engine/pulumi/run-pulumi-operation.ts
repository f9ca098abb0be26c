import { removeTornMetadata, repairTornCheckpoint } from "./repair-torn-checkpoint.ts";
import * as pulumi from "@pulumi/pulumi";
import { PulumiCommand, type EngineEvent as PulumiEngineEvent, type Stack } from "@pulumi/pulumi/automation/index.js";
import type { ReplicaBeat } from "../../store/records.ts";
import type { EngineEvent } from "../engine.ts";
import type { ChildResult, EngineJob } from "./child-protocol.ts";
import { createPreviewCollector } from "./create-preview-collector.ts";
import { describeFailure } from "./describe-failure.ts";
import { generatedSecretsVariable, readGeneratedSecrets } from "./generated-secrets.ts";
import { PulumiFailureError } from "./child-protocol.ts";
import { loadPluginDefinition } from "./load-plugin-definition.ts";
import { mapEngineEvent } from "./map-engine-event.ts";
import { checkpointNeedsRecovery } from "./checkpoint-needs-recovery.ts";
import { clearStackLock } from "./clear-stack-lock.ts";
import { openStack } from "./open-stack.ts";
import { readStackOutputs } from "./read-stack-outputs.ts";
import { recoverStack } from "./recover-stack.ts";
import { splitOutputs } from "./split-outputs.ts";

export interface OperationContext {
  emit(event: EngineEvent): void;
  /** Aborted on SIGTERM or when the parent goes away: the CLI is interrupted (SIGINT) and unlocks. */
  signal: AbortSignal;
  /** Notes the moment a phase ends (plugin loaded, stack selected...), for the engine's timing log. */
  mark?: (phase: string) => void;
  /** The beats of a host's replicas, from the server's store: they decide whether another host's stack lock is dead. */
  replicaBeats?: (host: string) => Promise<ReplicaBeat[]>;
}

const quiet = { color: "never", suppressProgress: true } as const;

/** The CLI of each root, checked once per child (`PulumiCommand.get` runs `pulumi version`). */
const commands = new Map<string, Promise<PulumiCommand>>();
function pulumiCommandAt(root: string): Promise<PulumiCommand> {
  let command = commands.get(root);
  if (!command) {
    command = PulumiCommand.get({ root });
    commands.set(root, command);
    command.catch(() => commands.delete(root));
  }
  return command;
}

/**
 * Runs one apply, destroy or preview of one stack through the Automation
 * API, inside an engine child (one operation at a time per process). Apply and
 * destroy first recover the stack from a crashed earlier attempt and clear a
 * stale lock once if the CLI reports one: the parent calls them only with
 * the resource's lease held. Preview changes nothing and clears nothing.
 * Throws `PulumiFailureError` carrying the facts for the classifier.
 */
export async function runPulumiOperation(job: EngineJob, context: OperationContext): Promise<ChildResult> {
  const { signal } = context;
  const mark = context.mark ?? (() => undefined);
  const secrets = [job.env.PULUMI_CONFIG_PASSPHRASE ?? "", ...job.secrets];
  const plugin = await loadPluginDefinition(job.plugin);
  mark("plugin-loaded");
  const secretKeys = plugin.secretOutputs ?? [];

  let programError: unknown;
  const program = async (): Promise<Record<string, unknown>> => {
    // The CLI has started the language host, which called back into this process.
    mark("program-started");
    try {
      const outputs: unknown =
        (await plugin.program({
          name: job.name,
          spec: job.resolvedSpec,
          settings: job.settings,
          secretOutputs: job.heldSecrets,
        })) ?? {};
      const problem = outputsProblem(outputs);
      if (problem) throw new Error(`the program returned malformed outputs: ${problem}`);
      // Listed secret outputs are encrypted in Pulumi's state too, not only in Plinth's store.
      return Object.fromEntries(
        Object.entries(outputs as Record<string, unknown>).map(([key, value]) => [
          key,
          secretKeys.includes(key) ? pulumi.secret(value) : value,
        ]),
      );
    } catch (error) {
      programError ??= error;
      throw error;
    }
  };

  const diagnostics: string[] = [];
  const preview = createPreviewCollector();
  /** The stack resource's outputs as the update saved them (the last such event wins: a refresh reports them first). */
  let stackOutputs: Record<string, unknown> | undefined;
  const onEvent = (event: PulumiEngineEvent): void => {
    markEngineEvent(event, mark);
    const outputs = event.resOutputsEvent?.metadata;
    if (outputs?.type === "pulumi:pulumi:Stack" && outputs.new) stackOutputs = outputs.new.outputs;
    if (event.diagnosticEvent?.severity === "error") diagnostics.push(event.diagnosticEvent.message);
    preview.observe(event);
    // Only a diagnostic's text is scrubbed; by the time a provider's error shows, what it generated is on file.
    const known = event.diagnosticEvent
      ? [...secrets, ...readGeneratedSecrets(job.env[generatedSecretsVariable])]
      : secrets;
    const mapped = mapEngineEvent(event, known);
    if (mapped) context.emit(mapped);
  };
  const warn = (message: string, details: Record<string, string | number | string[]>): void =>
    context.emit({ kind: "diagnostic", message, details: { severity: "warning", ...details } });

  /** Never while its holder may still be running: a server that died may have left its child finishing. */
  const clearLock = (stack: Stack): Promise<void> =>
    clearStackLock(stack, {
      backendUrl: job.backendUrl,
      projectName: job.projectName,
      stackName: job.stackName,
      waitMs: job.lockWaitMs,
      staleMs: job.staleLockMs,
      replicaBeats: context.replicaBeats,
      replicaSilenceMs: job.replicaSilenceMs,
      signal,
      onWaiting: (holders) =>
        warn("waiting for the stack's lock: its holder may still be running", {
          holders: holders.map((lock) => `${lock.pid ?? "?"}@${lock.hostname ?? "?"}`),
        }),
    });

  /** Recovery, then the operation; a lock a crash left behind is cleared once its holder is gone (we hold the lease). */
  const mutate = async <T>(stack: Stack, operation: () => Promise<T>): Promise<T> => {
    const clean = checkpointNeedsRecovery(job.backendUrl, job.projectName, job.stackName) === false;
    const recovery = clean
      ? { recovered: false, pendingOperations: 0, adopted: [] }
      : await recoverStack(stack, { clearLock: () => clearLock(stack), adopt: plugin.adoptPendingCreate, signal });
    mark("recovery-checked");
    if (recovery.recovered) {
      warn(
        `recovered from an interrupted update: cleared its lock, settled ${recovery.pendingOperations} pending operation(s), refreshed`,
        { pendingOperations: recovery.pendingOperations, adopted: recovery.adopted },
      );
    }
    signal.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if ((error as Error).name !== "ConcurrentUpdateError" || signal.aborted) throw error;
      await clearLock(stack);
      warn("cleared a stale lock left by an interrupted update", { reason: "stale-lock" });
      diagnostics.length = 0;
      return await operation();
    }
  };

  try {
    if (job.operation !== "preview") {
      const restored = repairTornCheckpoint(job.backendUrl, job.projectName, job.stackName);
      if (restored) warn("restored a checkpoint cut short by an interrupted update from its backup", { restored });
      const removed = removeTornMetadata(job.backendUrl, job.projectName, job.stackName);
      if (removed.length > 0) warn("removed metadata files left empty by an interrupted update", { removed });
    }
    const pulumiCommand = await pulumiCommandAt(job.pulumiRoot);
    mark("cli-checked");
    const stack = await openStack(job, program, pulumiCommand);
    mark("stack-selected");
    signal.throwIfAborted();
    const common = { ...quiet, onEvent, signal, refresh: job.refresh };
    switch (job.operation) {
      case "apply": {
        await mutate(stack, () => {
          stackOutputs = undefined;
          return stack.up({ ...common, suppressOutputs: true });
        });
        const outputs = await readStackOutputs(stackOutputs, () => stack.workspace.stackOutputs(job.stackName));
        mark("outputs-read");
        return { operation: "apply", outputs: splitOutputs(outputs, secretKeys) };
      }
      case "destroy":
        await mutate(stack, () => stack.destroy({ ...common, suppressOutputs: true, remove: true }));
        return { operation: "destroy" };
      case "preview":
        // A refreshing preview reads the real resources without saving what it read.
        if (job.kind === "DELETE") await stack.previewDestroy(common);
        else await stack.preview(common);
        return { operation: "preview", preview: preview.finish() };
    }
  } catch (error) {
    throw new PulumiFailureError(describeFailure(error, { programError, diagnostics, signal }));
  }
}

/**
 * Marks the engine's milestones from its event stream: the CLI's engine is
 * running (prelude), the first resource step begins (providers are loaded
 * and the plan is being made), the first provider is configured, the first
 * real step ends, and the summary.
 */
function markEngineEvent(event: PulumiEngineEvent, mark: (phase: string) => void): void {
  if (event.preludeEvent) mark("engine-started");
  else if (event.resourcePreEvent) {
    const { type, op } = event.resourcePreEvent.metadata;
    if (type.startsWith("pulumi:providers:")) mark("provider-step");
    else if (type !== "pulumi:pulumi:Stack" && op !== "same" && op !== "refresh") mark(`${op}-started`);
  } else if (event.resOutputsEvent) {
    const { type, op } = event.resOutputsEvent.metadata;
    if (type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:") && op !== "same" && op !== "refresh")
      mark(`${op}-done`);
  } else if (event.summaryEvent) mark("summary");
}

/**
 * Why a program's return value cannot be the resource's outputs (a record of
 * JSON values or Pulumi Outputs), or undefined when it can. Caught here, the
 * change fails naming the plugin instead of storing something half-written.
 */
function outputsProblem(outputs: unknown): string | undefined {
  if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs) || pulumi.Output.isInstance(outputs)) {
    return `expected an object of outputs, got ${Array.isArray(outputs) ? "an array" : typeof outputs}`;
  }
  for (const [key, value] of Object.entries(outputs)) {
    const problem = valueProblem(value, 0);
    if (problem) return `output "${key}" ${problem}`;
  }
  return undefined;
}

function valueProblem(value: unknown, depth: number): string | undefined {
  if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") {
    return `is a ${typeof value}, which JSON cannot hold`;
  }
  if (!value || typeof value !== "object" || pulumi.Output.isInstance(value) || pulumi.Resource.isInstance(value)) {
    return undefined;
  }
  if (depth > 32) return "is nested too deeply (a cycle?)";
  for (const inner of Object.values(value)) {
    const problem = valueProblem(inner, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}
