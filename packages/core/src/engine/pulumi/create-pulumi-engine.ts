import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { pino } from "pino";
import type { Logger } from "../../observability/logger.ts";
import type { ReplicaBeat } from "../../store/records.ts";
import { type Engine, EngineError, type EngineRequest } from "../engine.ts";
import type { ChildResult, EngineJob, EngineOperation } from "./child-protocol.ts";
import { type ClassifyContext, classifyPulumiError } from "./classify-pulumi-error.ts";
import { createKeyedLock } from "./create-keyed-lock.ts";
import { createSemaphore } from "./create-semaphore.ts";
import { secretValuesIn } from "../secret-values.ts";
import {
  generatedSecretsFile,
  generatedSecretsVariable,
  readGeneratedSecrets,
  removeGeneratedSecrets,
} from "./generated-secrets.ts";
import { moduleSearchPaths } from "./module-search-paths.ts";
import { redactSecrets } from "./redact-secrets.ts";
import { resolveEngineSettings } from "./resolve-engine-settings.ts";
import { phaseDurations } from "./phase-durations.ts";
import { type EngineChildEvent, createChildPool } from "./create-child-pool.ts";

export type EngineLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

export interface PulumiEngineOptions {
  /** Plinth's data directory: default state backend and the per-stack workspace directories (`<dataDir>/pulumi-work/<stack>`). */
  dataDir: string;
  /** Any Pulumi backend URL (`file://...`, `postgres://...`, `s3://...`); default `file://<dataDir>/pulumi`. */
  backendUrl?: string;
  /** PULUMI_CONFIG_PASSPHRASE of the passphrase secrets provider; default that environment variable. Never appears in messages. */
  passphrase?: string;
  /** Pulumi secrets provider; default "passphrase". */
  secretsProvider?: string;
  /** PULUMI_HOME, where the provider plugins are installed; default env PULUMI_HOME, else `$PLINTH_CACHE/pulumi-home`. */
  pulumiHome?: string;
  /**
   * Directory holding `bin/pulumi` and, beside it, the dynamic provider
   * launcher `pulumi-resource-pulumi-nodejs`. Default: the pinned CLI that
   * `make setup` installs, `$PLINTH_CACHE/pulumi-<PULUMI_VERSION>` (version
   * from toolchain/versions.env). Not resolved from PATH: a random `pulumi`
   * there may lack the launcher or be another version.
   */
  pulumiRoot?: string;
  /** Pulumi project of every stack; default "plinth". */
  projectName?: string;
  /** Child processes (so Pulumi operations) at once; default from the machine (defaultEngineConcurrency). */
  concurrency?: number;
  /** An operation running longer is stopped and fails with a retryable TIMEOUT; default 30 minutes. */
  timeoutMs?: number;
  /** After cancellation, how long Pulumi may take to stop cleanly before SIGKILL; default 10 s. */
  killGraceMs?: number;
  /**
   * An engine child stops its operation when it has not heard from this
   * process for this long (it is paused): set it below the worker's lease.
   * Default 10 s.
   */
  parentSilenceMs?: number;
  /**
   * The beats of a host's replicas from the server's store (`StoreTx.replicaBeats`): a stack lock taken on
   * another host is cleared only once its replicas are silent (see clearStackLock). The server must beat at
   * least every `parentSilenceMs`. Absent, another host's lock is cleared only once it is stale.
   */
  replicaBeats?: (host: string) => Promise<ReplicaBeat[]>;
  /** Default: silent. */
  logger?: EngineLogger;
  /** Operations one engine child runs before it is retired and a fresh one takes its place; default 25. */
  operationsPerChild?: number;
  /** Called when a child starts, is ready, is assigned an operation, answers and exits (pid, timings): for metrics and tests. */
  onChild?: (event: EngineChildEvent) => void;
  /**
   * Called after an operation with the secret values its providers
   * generated (`registerSecret`), succeeded or failed: for the contract
   * suite, which searches for them wherever they could land. Never log them.
   */
  onGeneratedSecrets?: (values: string[], request: Pick<EngineRequest, "type" | "name" | "changeId">) => void;
}

const stackNamePattern = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$/;

/**
 * The real engine: Pulumi's Automation API, one stack per resource, each
 * operation in a child process of its own for as long as it runs (at most
 * `concurrency` at once, and one at a time per stack). The children are kept
 * warm (see createChildPool): started ahead of need with the Pulumi SDK and
 * the plugins loaded, each running one operation at a time, retired after
 * `operationsPerChild` operations or any failure.
 *
 * Contract: `apply` and `destroy` must be called with the resource's lease
 * held. They recover from a crashed earlier attempt before acting (clear the
 * stack's lock, settle pending operations), which is only safe when nobody
 * else can be updating the stack. `preview` changes nothing and may be called
 * without the lease (it neither takes nor clears Pulumi's lock; previewing a
 * resource never applied creates its empty stack). Every method rejects only
 * with `EngineError`, whose message names the plugin and never contains the
 * passphrase or secret outputs. After `close()` (which cancels running
 * operations and waits for their children) every call rejects.
 *
 * Layout: state in the backend (`file://<dataDir>/pulumi` by default), and
 * per stack a workspace directory `<dataDir>/pulumi-work/<stack>` holding
 * Pulumi.yaml and Pulumi.<stack>.yaml (the passphrase salt), removed with
 * the stack on destroy. Kept out of the source tree, one per stack, so
 * concurrent children never rewrite each other's Pulumi.yaml.
 */
export function createPulumiEngine(options: PulumiEngineOptions): Engine {
  const settings = resolveEngineSettings(options);
  const logger: EngineLogger = options.logger ?? pino({ level: "silent" });
  const pool = createSemaphore(settings.concurrency);
  const stacks = createKeyedLock();
  const closing = new AbortController();
  const running = new Set<Promise<unknown>>();

  const guard =
    <T>(what: string, fn: ((value: T) => void) | undefined) =>
    (value: T): void => {
      try {
        fn?.(value);
      } catch (error) {
        logger.warn({ err: error }, `an engine ${what} callback threw`);
      }
    };

  const children = createChildPool({
    size: settings.concurrency,
    maxOperations: settings.operationsPerChild,
    onChild: guard("onChild", (event: EngineChildEvent) => {
      logger.debug({ ...event }, `engine child ${event.phase}`);
      options.onChild?.(event);
    }),
    onWarning: (message) => logger.warn(redactSecrets(message, [settings.passphrase])),
    onOutputLine: (line) => logger.debug(redactSecrets(line, [settings.passphrase])),
    replicaBeats: options.replicaBeats,
  });

  async function operate(operation: EngineOperation, request: EngineRequest): Promise<ChildResult> {
    const context: ClassifyContext = {
      operation,
      type: request.type,
      plugin: request.plugin,
      secrets: [settings.passphrase, ...secretValuesIn(request.settings), ...(request.secrets ?? [])],
    };
    if (closing.signal.aborted)
      throw new EngineError(`${operation} of ${request.type}: the engine is closed`, true, "UNKNOWN");
    if (!stackNamePattern.test(request.stackName)) {
      throw new EngineError(
        `${operation} of ${request.type}: "${request.stackName}" is not a valid stack name`,
        false,
        "INVALID_INPUT",
      );
    }
    const signal = request.signal ? AbortSignal.any([request.signal, closing.signal]) : closing.signal;
    let releaseStack: (() => void) | undefined;
    let releaseSlot: (() => void) | undefined;
    try {
      releaseStack = await stacks.acquire(request.stackName, signal);
      releaseSlot = await pool.acquire(signal, request.background);
    } catch {
      releaseStack?.();
      throw classifyPulumiError({ kind: "cancelled" }, context);
    }
    guard("onSlot", request.onSlot)(undefined);
    try {
      const workDir = join(settings.workRoot, request.stackName);
      try {
        mkdirSync(workDir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw classifyPulumiError({ kind: "internal", message: (error as Error).message }, context);
      }
      // Secrets the providers make during this operation: known to every message before it leaves.
      const generated = generatedSecretsFile(workDir);
      removeGeneratedSecrets(generated);
      const secretsNow = (): string[] => [...context.secrets, ...readGeneratedSecrets(generated)];
      const job: EngineJob = {
        operation,
        kind: request.kind,
        refresh: request.refresh ?? false,
        projectName: settings.projectName,
        stackName: request.stackName,
        type: request.type,
        name: request.name,
        plugin: request.plugin,
        settings: request.settings,
        resolvedSpec: request.resolvedSpec,
        heldSecrets: request.heldSecrets ?? {},
        pulumiRoot: settings.pulumiRoot,
        workDir,
        backendUrl: settings.backendUrl,
        secretsProvider: settings.secretsProvider,
        secrets: context.secrets.slice(1),
        env: {
          PULUMI_HOME: settings.pulumiHome,
          PULUMI_BACKEND_URL: settings.backendUrl,
          PULUMI_CONFIG_PASSPHRASE: settings.passphrase,
          [generatedSecretsVariable]: generated,
          // Pulumi never downloads anything nor checks for updates: plugins come from PULUMI_HOME only.
          PULUMI_SKIP_UPDATE_CHECK: "true",
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
          PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
          // The dynamic provider launcher sits beside the CLI and runs `node`: this Node.
          PATH: [join(settings.pulumiRoot, "bin"), dirname(process.execPath), process.env.PATH]
            .filter(Boolean)
            .join(":"),
          NODE_PATH: [...moduleSearchPaths(request.plugin.module), process.env.NODE_PATH].filter(Boolean).join(":"),
        },
        stopGraceMs: settings.killGraceMs,
        parentSilenceMs: settings.parentSilenceMs,
        // An orphaned or unheard child gives up within its silence and its grace; after twice that grace, its lock
        // is still held for a reason. A backend whose locks cannot be read is waited out this long (clear-stack-lock.ts).
        lockWaitMs: settings.parentSilenceMs + 2 * settings.killGraceMs + 5_000,
        // A replica beats at least every parentSilenceMs; once silent, its children stop their CLI within their
        // silence and grace. Twice both, and the holder is dead.
        replicaSilenceMs: 2 * (settings.parentSilenceMs + settings.killGraceMs) + 5_000,
        // No holder outlives its timeout plus its grace; the minute is for another host's clock.
        staleLockMs: settings.timeoutMs + settings.killGraceMs + 60_000,
      };
      const started = Date.now();
      try {
        return await runJob(operation, request, job, context, secretsNow, signal, started);
      } finally {
        const values = readGeneratedSecrets(generated);
        removeGeneratedSecrets(generated);
        const report = options.onGeneratedSecrets;
        if (values.length > 0 && report)
          guard("onGeneratedSecrets", (found: string[]) => report(found, request))(values);
      }
    } finally {
      releaseSlot();
      releaseStack();
    }
  }

  /** One operation in a child, its failure classified with every secret known by then (the generated ones too). */
  async function runJob(
    operation: EngineOperation,
    request: EngineRequest,
    job: EngineJob,
    context: ClassifyContext,
    secretsNow: () => string[],
    signal: AbortSignal,
    started: number,
  ): Promise<ChildResult> {
    // Children forked from now on load this plugin before they are needed.
    children.preload(request.plugin.module);
    const outcome = await children.run({
      job,
      signal,
      timeoutMs: settings.timeoutMs,
      killGraceMs: settings.killGraceMs,
      onEvent: guard("onEvent", request.onEvent),
      onOutputLine: (line) => logger.debug({ stack: request.stackName, operation }, redactSecrets(line, secretsNow())),
    });
    if (!outcome.ok) {
      const error = classifyPulumiError(outcome.failure, { ...context, secrets: secretsNow() });
      logger.warn({ stack: request.stackName, operation, code: error.code, retryable: error.retryable }, error.message);
      throw error;
    }
    logger.info(
      {
        stack: request.stackName,
        operation,
        ms: Date.now() - started,
        warm: outcome.warm,
        phases: phaseDurations(outcome.marks, started),
      },
      `${operation} finished`,
    );
    // A destroyed stack is removed from the backend; its workspace directory goes too.
    if (operation === "destroy") rmSync(job.workDir, { recursive: true, force: true });
    return outcome.result;
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    running.add(promise);
    const forget = (): void => {
      running.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  return {
    async apply(request) {
      const result = await track(operate("apply", request));
      if (result.operation !== "apply")
        throw new EngineError(`apply of ${request.type}: the child answered a ${result.operation}`, true, "UNKNOWN");
      return result.outputs;
    },
    async destroy(request) {
      await track(operate("destroy", request));
    },
    async preview(request) {
      const result = await track(operate("preview", request));
      if (result.operation !== "preview")
        throw new EngineError(`preview of ${request.type}: the child answered a ${result.operation}`, true, "UNKNOWN");
      return result.preview;
    },
    async close() {
      closing.abort(new Error("the engine is closing"));
      await Promise.allSettled([...running]);
      await children.close();
    },
  };
}
