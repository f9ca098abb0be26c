import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type Session, hasRole } from "./session.tsx";

/** The server's review settings the console needs (GET /console-settings.json). */
export interface ReviewSettings {
  /** A change pending review longer than this is overdue; 0: no reminder. */
  remindAfterMs: number;
  /** Teams whose reviewers review every team's changes. */
  platformTeams: string[];
}

export async function loadReviewSettings(signal: AbortSignal): Promise<ReviewSettings> {
  const res = await fetch("/console-settings.json", { signal });
  if (!res.ok) throw new Error(`the server's console settings could not be read (HTTP ${res.status})`);
  const body = (await res.json()) as { review?: Partial<ReviewSettings> };
  return { remindAfterMs: body.review?.remindAfterMs ?? 0, platformTeams: body.review?.platformTeams ?? [] };
}

/**
 * Whether the change waits for this person's review: the server's own rule
 * (a reviewer of the change's team, of a team it asks for access, of a
 * platform team, or an admin; never one's own change), less what they have
 * already reviewed.
 */
export function waitsForMe(change: Change, me: Session["me"], settings: ReviewSettings): boolean {
  if (change.status !== ChangeStatus.PENDING_REVIEW || !hasRole(me, "reviewer")) return false;
  if (change.requestedBy === me.id || change.reviews.some((r) => r.reviewer === me.id)) return false;
  return (
    me.roles.includes("admin") ||
    change.team === me.team ||
    change.accessRequests.some((request) => request.ownerTeam === me.team) ||
    settings.platformTeams.includes(me.team)
  );
}
