import type { PulumiFailure } from "./child-protocol.ts";
import { PulumiFailureError } from "./child-protocol.ts";

export interface FailureFacts {
  /** What the plugin's program threw, if it threw. */
  programError: unknown;
  /** Error diagnostics the Pulumi engine reported during the operation. */
  diagnostics: readonly string[];
  signal: AbortSignal;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Pulumi's `CommandError` and its subclasses (ConcurrentUpdateError, ...), by name: they are not exported as values we can rely on across copies. */
const commandErrors = new Set([
  "CommandError",
  "ConcurrentUpdateError",
  "StackNotFoundError",
  "StackAlreadyExistsError",
]);

/**
 * Turns whatever an operation threw inside the child into plain facts for
 * the parent's classifier. Does not decide retryability.
 */
export function describeFailure(error: unknown, facts: FailureFacts): PulumiFailure {
  if (error instanceof PulumiFailureError) return error.failure;
  if (facts.signal.aborted) return { kind: "cancelled" };
  if (facts.programError !== undefined) return { kind: "program", message: messageOf(facts.programError) };
  if (error instanceof Error && commandErrors.has(error.name)) {
    return { kind: "command", errorName: error.name, output: error.message, diagnostics: [...facts.diagnostics] };
  }
  return { kind: "internal", message: messageOf(error) };
}
