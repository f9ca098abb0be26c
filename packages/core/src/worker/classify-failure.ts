import { PluginFault } from "../domain/plugin-calls.ts";
import { EngineError } from "../engine/engine.ts";

export interface FailureClass {
  retryable: boolean;
  message: string;
}

/** Verification did not confirm the resource in time; worth another attempt. */
export class VerificationError extends Error {
  override name = "VerificationError";
}

/** The spec is no longer valid against the resource as it is now; retrying cannot help. */
export class RevalidationError extends Error {
  override name = "RevalidationError";
}

/** The one place that decides whether a failed apply is retried. By class, never by message text. */
export function classifyFailure(error: unknown): FailureClass {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof EngineError) return { retryable: error.retryable, message };
  if (error instanceof VerificationError) return { retryable: true, message };
  if (error instanceof RevalidationError || error instanceof PluginFault) return { retryable: false, message };
  // Unknown failures (a bug, a crash of something we call) get the benefit of the doubt, within the attempt limit.
  return { retryable: true, message };
}
