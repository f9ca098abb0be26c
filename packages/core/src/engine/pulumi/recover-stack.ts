import type { Stack } from "@pulumi/pulumi/automation/index.js";
import type { PendingCreate } from "../../plugin/define-plugin.ts";

/** What recovery found and did, for events and logs. */
export interface StackRecovery {
  /** Pending operations a crashed update left in state (0 = nothing to do). */
  pendingOperations: number;
  /** URNs of interrupted creates adopted by ID and refreshed into state. */
  adopted: string[];
}

/** A resource in an exported deployment (apitype.ResourceV3), the fields recovery reads. */
interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  [field: string]: unknown;
}

interface PendingOperation {
  /** "creating", "updating", "deleting", "reading", "importing". */
  type: string;
  resource: StateResource;
}

export interface RecoverStackOptions {
  /** The plugin's `adoptPendingCreate`, if it has one. */
  adopt?: (pending: PendingCreate) => string | undefined;
  signal?: AbortSignal;
}

/**
 * Makes a stack safe to update after a crashed update (a killed process
 * leaves the lock and "pending operations" behind). When the state has
 * pending operations it: clears every lock of the stack (`stack.cancel()`),
 * turns each interrupted create the plugin can adopt into a state entry with
 * that ID, drops the rest of the pending operations (export, edit, import),
 * then refreshes so state matches what really exists (an adopted resource
 * that was never made is dropped again; an interrupted update or delete is
 * read back as it is). Does nothing, at the cost of one `stack export`, when
 * there is nothing pending.
 *
 * Contract: call it only while holding the lease on this resource. Clearing
 * locks would break a live update by someone else, and the lease is what
 * promises there is none.
 */
export async function recoverStack(stack: Stack, options: RecoverStackOptions = {}): Promise<StackRecovery> {
  const state = await stack.exportStack();
  const deployment = (state.deployment ?? {}) as {
    resources?: StateResource[];
    pending_operations?: PendingOperation[];
  };
  const pending = deployment.pending_operations ?? [];
  if (pending.length === 0) return { pendingOperations: 0, adopted: [] };

  await stack.cancel();
  const resources = [...(deployment.resources ?? [])];
  const adopted: string[] = [];
  for (const operation of pending) {
    if (operation.type !== "creating" || resources.some((resource) => resource.urn === operation.resource.urn))
      continue;
    const id = options.adopt?.({
      type: operation.resource.type,
      name: operation.resource.urn.split("::").at(-1) ?? "",
      inputs: operation.resource.inputs ?? {},
    });
    if (!id) continue;
    resources.push({ ...operation.resource, id, outputs: operation.resource.inputs ?? {} });
    adopted.push(operation.resource.urn);
  }
  await stack.importStack({ ...state, deployment: { ...deployment, resources, pending_operations: [] } });
  options.signal?.throwIfAborted();
  await stack.refresh({ signal: options.signal, color: "never", suppressProgress: true });
  return { pendingOperations: pending.length, adopted };
}
