import type { Transport } from "@connectrpc/connect";
import { isRetryableError } from "./retry-policy.ts";

/**
 * One transport over several equivalent servers (Plinth replicas sharing one
 * store). Calls go to the current server; a call that fails because that
 * server could not be reached (see {@link isRetryableError}) moves the client
 * on to the next one and still fails, so the retry interceptor around this
 * transport (and `waitForChange`'s reconnect) tries again, on the next
 * server. Retrying a mutation on another replica is safe: the request id is
 * an idempotency key enforced by the shared store.
 */
export function createFailoverTransport(transports: readonly Transport[]): Transport {
  if (transports.length === 0) throw new TypeError("at least one server is needed");
  let current = 0;
  // Only the call that saw the failure moves on: calls that failed together skip one server, not several.
  const failed = (used: number, error: unknown): never => {
    if (isRetryableError(error) && current === used) current = (used + 1) % transports.length;
    throw error;
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const used = current;
      try {
        return await transports[used]!.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (error) {
        return failed(used, error);
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const used = current;
      try {
        const response = await transports[used]!.stream(method, signal, timeoutMs, header, input, contextValues);
        // A stream can also break after it started (the replica stopped mid-watch).
        return { ...response, message: watchFailures(response.message, (error) => failed(used, error)) };
      } catch (error) {
        return failed(used, error);
      }
    },
  };
}

async function* watchFailures<T>(messages: AsyncIterable<T>, onError: (error: unknown) => never): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    onError(error);
  }
}
