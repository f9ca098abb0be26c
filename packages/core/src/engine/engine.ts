import type { ChangeKind, JsonObject } from "../domain/types.ts";

/** Where a plugin's code lives, so an engine child process can import it too. */
export interface PluginModuleRef {
  /** A file URL or package specifier that the loader imported. */
  module: string;
  /** The export holding the plugin value. */
  exportName: string;
}

export interface EngineEvent {
  /** "resource" for steps, "diagnostic" for messages, "summary" at the end. */
  kind: "resource" | "diagnostic" | "summary";
  message: string;
  details?: JsonObject;
}

export interface EngineRequest {
  /** Stable per resource: "<type>--<name>". */
  stackName: string;
  type: string;
  name: string;
  plugin: PluginModuleRef;
  /** The plugin's validated settings (plain JSON). */
  settings: JsonObject;
  /** What the resource must become; for `destroy` the last applied spec. */
  resolvedSpec: JsonObject;
  /**
   * The plugin's secret outputs as Plinth's store holds them (opened), for
   * the program (`ProgramInput.secretOutputs`). Never in an event or error.
   */
  heldSecrets?: JsonObject;
  changeId: string;
  kind: ChangeKind;
  attempt: number;
  onEvent?: (event: EngineEvent) => void;
  /** Called once the operation has an engine slot (it may have waited for one), just before it runs. */
  onSlot?: () => void;
  signal?: AbortSignal;
  /**
   * Read the real resource first (Pulumi refresh), so drift made out of band
   * shows up in a preview's steps and an apply repairs it. A preview does not
   * persist what it read.
   */
  refresh?: boolean;
  /**
   * Background work (a reconcile round's drift check): it takes an engine
   * slot only when no other operation is waiting for one, so a person's
   * change is never queued behind drift checks.
   */
  background?: boolean;
  /**
   * Values that must never appear in an event or error, besides those the
   * engine finds itself (its passphrase, secrets in `settings`): e.g. the
   * resource's current secret outputs, its generated password.
   */
  secrets?: readonly string[];
}

export interface EngineOutputs {
  outputs: JsonObject;
  /** Values of the plugin's secret outputs; encrypted by the caller before storing. */
  secretOutputs: JsonObject;
}

export interface EnginePreview {
  /** Pulumi step counts, e.g. { create: 1 } or { replace: 1 }. */
  steps: Record<string, number>;
  /** True when a stateful resource would be replaced or deleted. */
  destructive: boolean;
  details: JsonObject;
}

/**
 * Turns resolved specs into real infrastructure. Every method is idempotent:
 * applying the same spec twice converges to the same state, and a call that
 * was interrupted (crash, kill) may simply be made again.
 */
export interface Engine {
  apply(request: EngineRequest): Promise<EngineOutputs>;
  destroy(request: EngineRequest): Promise<void>;
  preview(request: EngineRequest): Promise<EnginePreview>;
  close(): Promise<void>;
}

/**
 * Engine failures carry their retry classification, decided in one place
 * (the engine's classifier), so the worker never looks at message text.
 */
export class EngineError extends Error {
  override name = "EngineError";
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code:
      | "TARGET_UNREACHABLE"
      | "CONCURRENT_UPDATE"
      | "INVALID_INPUT"
      | "ALREADY_EXISTS"
      | "PLUGIN_FAILED"
      | "TIMEOUT"
      | "UNKNOWN",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
