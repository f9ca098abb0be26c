import type { ChangeKind, JsonObject } from "../../domain/types.ts";
import type { ReplicaBeat } from "../../store/records.ts";
import type { EngineEvent, EngineOutputs, EnginePreview, PluginModuleRef } from "../engine.ts";

export type EngineOperation = "apply" | "destroy" | "preview";

/**
 * Everything one child needs for one operation, sent once over IPC (never on
 * the command line, where `ps` would show the passphrase).
 */
export interface EngineJob {
  operation: EngineOperation;
  /** A preview of a DELETE previews the destroy. */
  kind: ChangeKind;
  /** Read the real resources first (`EngineRequest.refresh`). */
  refresh: boolean;
  projectName: string;
  stackName: string;
  type: string;
  name: string;
  plugin: PluginModuleRef;
  settings: JsonObject;
  resolvedSpec: JsonObject;
  /** `EngineRequest.heldSecrets`, for the program. */
  heldSecrets: JsonObject;
  /** Directory holding `bin/pulumi` and the dynamic provider launcher. */
  pulumiRoot: string;
  /** This stack's own workspace directory (Pulumi.yaml, Pulumi.<stack>.yaml). */
  workDir: string;
  backendUrl: string;
  secretsProvider: string;
  /** Environment of every Pulumi CLI call (and of the providers it starts). */
  env: Record<string, string>;
  /** When its server is gone, how long the child lets the CLI stop before it kills it. */
  stopGraceMs: number;
  /**
   * The child stops its operation (as when its server is gone) once it has
   * heard nothing from its server for this long: a server paused (SIGSTOP, a
   * frozen VM) sends no heartbeats, and after its lease another replica may
   * take the change over. Shorter than the lease.
   */
  parentSilenceMs: number;
  /** How long to wait for a stack lock's live holder before failing retryable. */
  lockWaitMs: number;
  /** A stack lock older than this is stale whoever holds it. */
  staleLockMs: number;
  /**
   * A replica that has not beaten into the store for longer than this is
   * dead, and so is the stack lock its engine child's CLI took: longer than
   * a beat's interval, the child's silence and its grace together.
   */
  replicaSilenceMs: number;
  /** Values scrubbed from every event the child sends: the passphrase, secrets of the settings, known secret outputs. */
  secrets: string[];
}

export type ChildResult =
  | { operation: "apply"; outputs: EngineOutputs }
  | { operation: "destroy" }
  | { operation: "preview"; preview: EnginePreview };

/**
 * What went wrong, as facts for `classifyPulumiError`. Only the classifier
 * turns these into an `EngineError`.
 */
export type PulumiFailure =
  /** The plugin module could not be imported or its export is not a plugin. */
  | { kind: "plugin-load"; message: string }
  /** The plugin's program threw (or rejected) while declaring resources. */
  | { kind: "program"; message: string }
  /** A Pulumi CLI command failed; `diagnostics` are the engine's error diagnostics. */
  | { kind: "command"; errorName: string; output: string; diagnostics: string[] }
  /** Anything else thrown inside the child. */
  | { kind: "internal"; message: string }
  /** The child exited (or was killed) without answering. */
  | { kind: "exited"; code: number | null; signal: string | null; stderrTail: string }
  /** The caller's signal aborted the operation. */
  | { kind: "cancelled" }
  /** The operation ran longer than the engine's `timeoutMs`. */
  | { kind: "timeout"; timeoutMs: number };

/** Parent to child. Cancellation is a SIGTERM, not a message. */
export interface RunMessage {
  type: "run";
  job: EngineJob;
}

/** Parent to child: the answer to a child's `replica-beats` question (`error` when the store could not be asked). */
export interface ReplicaBeatsAnswer {
  type: "replica-beats";
  id: number;
  beats?: ReplicaBeat[];
  error?: string;
}

/** Heartbeats (see `EngineJob.parentSilenceMs`) are not messages: they come on a pipe of their own (silence-watchdog.ts). */
export type ParentMessage = RunMessage | ReplicaBeatsAnswer;

/** When each phase of an operation ended, in the order reached: [phase, epoch ms]. */
export type PhaseMarks = Array<[phase: string, at: number]>;

/** Child to parent. */
export type ChildMessage =
  | { type: "ready" }
  /** The beats of `host`'s replicas, from the server's store, to judge a stack lock of that host. */
  | { type: "replica-beats"; id: number; host: string }
  | { type: "event"; event: EngineEvent }
  | { type: "done"; result: ChildResult; marks: PhaseMarks }
  | { type: "failed"; failure: PulumiFailure; marks: PhaseMarks };

/** Thrown inside the child when the failure is already known, e.g. the plugin cannot load. */
export class PulumiFailureError extends Error {
  override name = "PulumiFailureError";
  constructor(readonly failure: PulumiFailure) {
    super(failure.kind);
  }
}
