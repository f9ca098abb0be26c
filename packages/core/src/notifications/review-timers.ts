import type { Logger } from "../observability/logger.ts";
import type { Store } from "../store/store.ts";
import { changeLink, emitNotification, type EmitDeps } from "./emit-notification.ts";

/**
 * Announces again the changes still pending review when their reminder is
 * due, and escalates them (kind REVIEW_ESCALATED) when their escalation is.
 * A timer is removed in the same transaction as the event it causes, so a
 * crash either leaves both or neither; a change no longer pending just loses
 * its timer.
 */
export async function fireDueReviewTimers(deps: EmitDeps & { store: Store; logger: Logger }): Promise<number> {
  const now = deps.now().getTime();
  const due = await deps.store.dueReviewTimers(now, 100);
  let fired = 0;
  for (const timer of due) {
    fired += await deps.store.transact(async (tx) => {
      // The change first: it takes the change's resource lock, which every transaction that writes the change's
      // timers (a submission, a review) holds, so the timer is read after theirs and locks come in the store's order.
      const change = await tx.getChange(timer.changeId);
      // Another replica may have fired it already.
      const still = (await tx.dueReviewTimers(now, 1_000)).some(
        (t) => t.changeId === timer.changeId && t.kind === timer.kind,
      );
      if (!still) return 0;
      await tx.deleteReviewTimer(timer.changeId, timer.kind);
      if (!change || change.status !== "PENDING_REVIEW") return 0;
      const waitedMinutes = Math.round((now - Date.parse(change.createdAt)) / 60_000);
      const what = `${change.kind} of ${change.type} "${change.name}" (change ${change.id})`;
      await emitNotification(tx, deps, {
        kind: timer.kind === "reminder" ? "PENDING_REVIEW" : "REVIEW_ESCALATED",
        type: change.type,
        name: change.name,
        team: change.team,
        change,
        message:
          timer.kind === "reminder"
            ? `reminder: ${what} is still pending review; review it at ${changeLink(deps.notifications, change.id)}`
            : `escalated: ${what} was submitted at ${change.createdAt} and still has no decision`,
        details: { reminder: timer.kind === "reminder", escalation: timer.kind === "escalation", waitedMinutes },
      });
      return 1;
    });
  }
  if (fired > 0) deps.logger.info({ fired }, "review reminders and escalations sent to the outbox");
  return fired;
}
