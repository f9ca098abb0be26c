import type { Change } from "@plinth/sdk";
import type { CliContext, Session } from "./cli-context.ts";
import { followChange } from "./follow-change.ts";
import { describeChange } from "./format.ts";

/**
 * After an apply, delete or revert: tells people which change it made and,
 * with `--wait`, follows it, replacing `response.change` with the final
 * change so that the printed result is the outcome, not the submission.
 */
export async function followSubmission(
  ctx: CliContext,
  session: Session,
  response: { change?: Change; deduplicated: boolean },
  wait: boolean,
): Promise<void> {
  const { change } = response;
  if (!change) {
    return;
  }
  if (!session.print.json) {
    session.print.progress(describeChange(change) + (response.deduplicated ? " (deduplicated)" : ""));
  }
  if (wait) {
    response.change = await followChange(ctx, session, change.id);
  }
}
