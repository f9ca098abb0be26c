import type { Interceptor } from "@connectrpc/connect";
import { backoffDelay, isRetryableError, resolveRetryPolicy, type RetryOptions } from "./retry-policy.ts";

/**
 * Retries a unary call that failed because the server could not be reached
 * (see {@link isRetryableError}), with exponential backoff and full jitter,
 * at most `maxAttempts` attempts and none starting after `totalTimeoutMs`.
 * Any other error, and every streaming call, passes through untouched.
 *
 * Safe for mutating RPCs: every mutating Plinth request carries a
 * `request_id` idempotency key, and a retry re-sends the very same message,
 * so a request the server did receive is answered with its original change
 * (marked `deduplicated`) instead of creating a second one.
 */
export function createRetryInterceptor(options: RetryOptions = {}): Interceptor {
  const policy = resolveRetryPolicy(options);
  return (next) => async (req) => {
    if (req.stream) {
      return await next(req);
    }
    const start = policy.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        if (!isRetryableError(error) || attempt >= policy.maxAttempts || req.signal.aborted) {
          throw error;
        }
        const delay = backoffDelay(policy, attempt);
        if (policy.now() - start + delay > policy.totalTimeoutMs) {
          throw error;
        }
        await policy.sleep(delay, req.signal);
      }
    }
  };
}
