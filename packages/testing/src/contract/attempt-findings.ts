/** One change as the contract suite judges its attempts: how many, how long, and what each failed attempt said. */
export interface AttemptRecord {
  /** The step, as its test is named. */
  step: string;
  changeId: string;
  attempts: number;
  durationMs: number;
  /** The messages of the change's `retry` events: one per failed attempt. */
  retryErrors: string[];
}

export interface AttemptPolicy {
  /** `real.eventuallyConsistent`: retries are expected, and allowed while the step stays fast enough. */
  eventuallyConsistent: boolean;
  /** How long a step is expected to take (`real.expectedStepMs`). */
  expectedStepMs: number;
  /** A retried step slower than this many times `expectedStepMs` fails even when retries are allowed. */
  slowFactor: number;
}

/** What the suite says about a change's attempts: why the step fails, or what the report lists (or nothing). */
export type AttemptVerdict = { fail: string } | { finding: string } | undefined;

/**
 * A step passes silently only when its change succeeded on the first
 * attempt. A retry hides a real bug as often as a slow system (a quota
 * deleted by its own replacement, a password that needs two tries), so it
 * fails the step and shows every attempt's error, unless the plugin says
 * its system is eventually consistent; even then a retried step that took
 * more than `slowFactor` times the expected duration fails, and every retry
 * is listed in the report. Pure.
 */
export function judgeAttempts(record: AttemptRecord, policy: AttemptPolicy): AttemptVerdict {
  if (record.attempts <= 1) return undefined;
  // An attempt that did not fail was cut short by a lost lease (a slow, loaded service) and taken up again:
  // the worker's business, not the plugin's.
  if (record.retryErrors.length === 0) {
    return {
      finding: `${record.step}: change ${record.changeId} took ${record.attempts} attempts, none failed (a lease was lost and taken up again)`,
    };
  }
  const story =
    `${record.step}: change ${record.changeId} needed ${record.attempts} attempts (${Math.round(record.durationMs / 1000)} s). ` +
    `Every failed attempt's error:\n  ${record.retryErrors.join("\n  ")}`;
  if (!policy.eventuallyConsistent) {
    return {
      fail:
        `${story}\nA contract step must succeed on its first attempt: a retry that repairs what the first attempt ` +
        "broke looks like success here and an outage in production. If the system really is eventually consistent, " +
        "say so with `real.eventuallyConsistent: true` (retries are then listed, and a step may still take at most " +
        `${policy.slowFactor} times \`real.expectedStepMs\`).`,
    };
  }
  const limit = policy.slowFactor * policy.expectedStepMs;
  if (record.durationMs > limit) {
    return {
      fail:
        `${story}\nWith its retries the step took more than ${policy.slowFactor} × the expected ${policy.expectedStepMs} ms ` +
        "(`real.expectedStepMs`): eventual consistency does not explain that much; look at what the failed attempts say.",
    };
  }
  return { finding: `retried (allowed by real.eventuallyConsistent): ${story}` };
}
