import { Code, ConnectError } from "@connectrpc/connect";

/** How the client retries calls that failed because the server could not be reached. */
export interface RetryOptions {
  /** Attempts in total, the first included. Default 4. */
  maxAttempts?: number;
  /** Upper bound of the first backoff, doubled at each attempt. Default 100 ms. */
  baseDelayMs?: number;
  /** Upper bound of any single backoff. Default 5 s. */
  maxDelayMs?: number;
  /** No attempt starts later than this after the first one. Default 30 s. */
  totalTimeoutMs?: number;
  /** Waits `ms`; rejects when `signal` aborts. Tests inject one that does not wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1); `Math.random` by default. */
  random?: () => number;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  now?: () => number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults of {@link RetryOptions}. */
export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? 4,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5_000,
    totalTimeoutMs: options.totalTimeoutMs ?? 30_000,
    sleep: options.sleep ?? sleepUnlessAborted,
    random: options.random ?? Math.random,
    now: options.now ?? (() => performance.now()),
  };
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): "full
 * jitter", uniformly random below the exponential cap, so clients that failed
 * together do not come back together.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(policy.random() * cap);
}

// Socket errors that mean the request may never have reached the server.
const connectionErrorCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

/**
 * True when `error` means the server could not be reached: UNAVAILABLE, and
 * also a reset connection, which connect-node reports as ABORTED. The
 * server's own ABORTED (an `expected_revision` mismatch) carries no socket
 * error as its cause, so it is never retried. Decided by codes, never by
 * message text.
 */
export function isRetryableError(error: unknown): boolean {
  if (!(error instanceof ConnectError)) {
    return false;
  }
  if (error.code === Code.Unavailable) {
    return true;
  }
  if (error.code !== Code.Aborted) {
    return false;
  }
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && connectionErrorCodes.has(code)) {
      return true;
    }
  }
  return false;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
