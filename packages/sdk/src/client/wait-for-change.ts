import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Change, ChangeEvent } from "../gen/plinth/v1/change_pb.ts";
import type { ChangeService } from "../gen/plinth/v1/change_service_pb.ts";
import { isFinalChangeStatus } from "./change-status.ts";
import { backoffDelay, isRetryableError, type RetryPolicy } from "./retry-policy.ts";

/** Options of {@link waitForChange}. */
export interface WaitForChangeOptions {
  /**
   * Called once per event, in sequence order, with the change as of that
   * event. An event is never repeated, even across reconnects.
   */
  onEvent?: (event: ChangeEvent, change: Change | undefined) => void;
  /** Stops waiting: the promise rejects with CANCELED. */
  signal?: AbortSignal;
  /** Only events after this sequence number; 0 (the default) replays the whole history. */
  afterSequence?: bigint;
}

/**
 * Follows `WatchChange` until the change is final (succeeded, failed,
 * rejected or cancelled) and resolves with the final Change, whatever its
 * status: a failed change is a result, not an error.
 *
 * If the stream breaks because the server could not be reached (see
 * {@link isRetryableError}) or ends before the change is final, it
 * reconnects with `afterSequence` set to the last event seen, with the
 * backoff of `policy`; `policy.maxAttempts` reconnects in a row without a new
 * event, or `policy.totalTimeoutMs` without one, give up with the last error.
 * Any other error rejects at once.
 */
export async function waitForChange(
  changes: Client<typeof ChangeService>,
  id: string,
  options: WaitForChangeOptions,
  policy: RetryPolicy,
): Promise<Change> {
  const { onEvent, signal } = options;
  let after = options.afterSequence ?? 0n;
  let latest: Change | undefined;
  let failures = 0;
  let since = policy.now();
  for (;;) {
    let progressed = false;
    let lastError: unknown;
    try {
      for await (const { event, change } of changes.watchChange({ id, afterSequence: after }, { signal })) {
        if (change) {
          latest = change;
        }
        // A reconnect may resend what an earlier stream already delivered.
        if (event && (event.sequence > after || after === 0n)) {
          after = event.sequence;
          progressed = true;
          onEvent?.(event, change);
        }
      }
      if (latest && isFinalChangeStatus(latest.status)) {
        return latest;
      }
      // The stream ended early (a server restarting, a proxy timeout): ask directly.
      const { change } = await changes.getChange({ id }, { signal });
      if (change && isFinalChangeStatus(change.status)) {
        return change;
      }
      lastError = new ConnectError(`watch of change ${id} ended before the change was final`, Code.Unavailable);
    } catch (error) {
      if (latest && isFinalChangeStatus(latest.status)) {
        return latest;
      }
      if (!isRetryableError(error) || signal?.aborted) {
        throw error;
      }
      lastError = error;
    }
    if (progressed) {
      failures = 0;
      since = policy.now();
    }
    failures++;
    const delay = backoffDelay(policy, failures);
    if (failures >= policy.maxAttempts || policy.now() - since + delay > policy.totalTimeoutMs) {
      throw lastError;
    }
    await policy.sleep(delay, signal ?? new AbortController().signal);
  }
}
