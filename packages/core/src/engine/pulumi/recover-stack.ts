import type { Stack } from "@pulumi/pulumi/automation/index.js";
import type { PendingCreate } from "../../plugin/define-plugin.ts";

/** What recovery found and did, for events and logs. */
export interface StackRecovery {
  /** False when there was nothing to recover. */
  recovered: boolean;
  /** Pending operations a crashed update left in state. */
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
  /** Clears the stack's lock, only once its holder is gone (see clearStackLock). */
  clearLock: () => Promise<void>;
  /** The plugin's `adoptPendingCreate`, if it has one. */
  adopt?: (pending: PendingCreate) => string | undefined;
  signal?: AbortSignal;
}

/**
 * Set on the outputs of a resource adopted from a pending create until a
 * refresh has read it back (a refresh replaces outputs wholesale, so the
 * mark goes with the first successful one). It makes recovery resumable: if
 * the refresh fails (target down) or the process dies after the import, the
 * next attempt sees the mark and refreshes before anything diffs against
 * the guessed state.
 */
export const unconfirmedMark = "__plinthUnconfirmedAdoption";

/**
 * Makes a stack safe to update after a crashed update (a killed process
 * leaves the lock and "pending operations" behind). When the state has
 * pending operations it: clears every lock of the stack (`clearLock`, which
 * first waits for a holder that may still be alive),
 * turns each interrupted create the plugin can adopt into a state entry with
 * that ID, drops the rest of the pending operations (export, edit, import),
 * then refreshes so state matches what really exists (an adopted resource
 * that was never made is dropped again; an interrupted update or delete is
 * read back as it is). Each step can be interrupted and redone. Costs one
 * `stack export` when there is nothing to recover.
 *
 * Contract: call it only while holding the lease on this resource. Clearing
 * locks would break a live update by someone else: the lease promises no
 * other attempt runs, and `clearLock` waits out an attempt whose server died.
 */
export async function recoverStack(stack: Stack, options: RecoverStackOptions): Promise<StackRecovery> {
  const state = await stack.exportStack();
  const deployment = (state.deployment ?? {}) as {
    resources?: StateResource[];
    pending_operations?: PendingOperation[];
  };
  const pending = deployment.pending_operations ?? [];
  const resources = [...(deployment.resources ?? [])];
  const unconfirmed = resources.some((resource) => resource.outputs?.[unconfirmedMark] === true);
  if (pending.length === 0 && !unconfirmed) return { recovered: false, pendingOperations: 0, adopted: [] };

  await options.clearLock();
  const adopted: string[] = [];
  if (pending.length > 0) {
    for (const operation of pending) {
      const { resource } = operation;
      if (operation.type !== "creating" || resources.some((existing) => existing.urn === resource.urn)) continue;
      const name = resource.urn.split("::").at(-1) ?? "";
      const id = options.adopt?.({ type: resource.type, name, inputs: resource.inputs ?? {} });
      if (!id) continue;
      resources.push({ ...resource, id, outputs: { ...resource.inputs, [unconfirmedMark]: true } });
      adopted.push(resource.urn);
    }
    await stack.importStack({ ...state, deployment: { ...deployment, resources, pending_operations: [] } });
  }
  options.signal?.throwIfAborted();
  await stack.refresh({ signal: options.signal, color: "never", suppressProgress: true });
  return { recovered: true, pendingOperations: pending.length, adopted };
}
