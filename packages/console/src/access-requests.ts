import { type AccessRequest, type Change, ChangeStatus, ReviewDecision } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { Api } from "./api.ts";
import { readAllChanges } from "./read-all.ts";
import type { Session } from "./session.tsx";

/** What one change asks of one owning team: approved (or rejected) together, by one reviewer of that team. */
export interface AccessAsk {
  change: Change;
  ownerTeam: string;
  requests: AccessRequest[];
}

const memberships = (me: Session["me"]) => (me.teams.length > 0 ? me.teams : [{ team: me.team, roles: me.roles }]);

const isAdmin = (me: Session["me"]): boolean => memberships(me).some((m) => m.roles.includes("admin"));

/**
 * Whether this person may approve for `team`: a reviewer of it, or an admin
 * (who may act for any team). The server's rule (`actingFor`, `assertCanReview`);
 * the page only uses it not to offer what the server would refuse.
 */
export function reviewsFor(me: Session["me"], team: string): boolean {
  return isAdmin(me) || memberships(me).some((m) => m.team === team && m.roles.includes("reviewer"));
}

/** The owning teams whose requests this person sees: their own teams, every team for an admin. */
const seesTeam = (me: Session["me"], team: string): boolean =>
  isAdmin(me) || memberships(me).some((m) => m.team === team);

/**
 * The access requests still waiting for one of this person's teams: a
 * change pending review asks the team for access and no reviewer of that
 * team has approved it yet (the server's `teamsStillToApprove`).
 */
export function waitingAsks(changes: Change[], me: Session["me"]): AccessAsk[] {
  const asks: AccessAsk[] = [];
  for (const change of changes) {
    if (change.status !== ChangeStatus.PENDING_REVIEW) continue;
    const approved = new Set(
      change.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).map((review) => review.team),
    );
    const byTeam = new Map<string, AccessRequest[]>();
    for (const request of change.accessRequests) {
      if (approved.has(request.ownerTeam) || !seesTeam(me, request.ownerTeam)) continue;
      byTeam.set(request.ownerTeam, [...(byTeam.get(request.ownerTeam) ?? []), request]);
    }
    for (const [ownerTeam, requests] of byTeam) asks.push({ change, ownerTeam, requests });
  }
  return asks;
}

/** Why this person may not approve or reject the ask (the server would refuse), or undefined when they may. */
export function whyNotReview(ask: AccessAsk, me: Session["me"]): string | undefined {
  if (ask.change.requestedBy === me.id)
    return `You submitted this change: another reviewer of ${ask.ownerTeam} decides.`;
  if (!reviewsFor(me, ask.ownerTeam)) return `Only a reviewer of ${ask.ownerTeam} or an admin decides.`;
  if (ask.change.reviews.some((r) => r.reviewer === me.id)) return "You have already reviewed this change.";
  return undefined;
}

/** Every change pending review, oldest first (the service's order), page by page. */
export const pendingChanges = (api: Api, signal: AbortSignal): Promise<Change[]> =>
  readAllChanges(api, { status: ChangeStatus.PENDING_REVIEW }, signal);
