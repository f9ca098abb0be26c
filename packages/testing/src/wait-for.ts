import { setTimeout as delay } from "node:timers/promises";

export interface WaitForOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** What is being waited for, for the error message. */
  what: string;
  /** Checked between attempts: a reason to stop waiting at once (e.g. the process exited). */
  abortReason?: () => string | undefined;
}

/**
 * Polls `probe` until it resolves, with a short backoff between attempts.
 * This waits on a condition (a port answering, a query succeeding), never on
 * a guessed duration.
 */
export async function waitFor<T>(probe: () => Promise<T>, options: WaitForOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let pause = 25;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abortReason?.();
    if (aborted) throw new Error(`${options.what}: ${aborted}`);
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`${options.what}: not ready after ${options.timeoutMs} ms (last error: ${reason})`);
    }
    await delay(pause);
    pause = Math.min(pause * 2, 250);
  }
}
