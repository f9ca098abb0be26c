import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "../../domain/errors.ts";
import { approveChange, cancelChange, rejectChange, retryChange } from "../../domain/review-change.ts";
import { teamsStillToApprove } from "../../domain/ownership.ts";
import { type Principal, finalChangeStatuses } from "../../domain/types.ts";
import { actingFor, principalOf } from "../auth.ts";
import { changeStatusFromProto, changeToProto, eventToProto } from "../convert.ts";
import type { Violation } from "../../plugin/define-plugin.ts";
import { checkedPageSize, isoTimeFilter } from "./paging.ts";
import type { ServiceDeps } from "./service-deps.ts";

/** ChangeService: proto in, one domain call, proto out. */
export function changeService(deps: ServiceDeps): ServiceImpl<typeof ChangeService> {
  const load = async (id: string) => {
    const change = id ? await deps.store.getChange(id) : undefined;
    if (!change) throw new NotFoundError(`change "${id}" does not exist`);
    return change;
  };

  /** Resolves when this change may have moved: a local wake-up, a poll tick, or the call ending. */
  const nextWake = (id: string, context: HandlerContext) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        context.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, deps.watchPollMs);
      const off = deps.notifier.onChange(id, done);
      context.signal.addEventListener("abort", done);
    });

  /** Every event of a change after `afterSequence`, with the change as it was then, until it is final. */
  async function* watch(id: string, afterSequence: number, context: HandlerContext) {
    let change = await load(id);
    let after = afterSequence;
    for (;;) {
      // Subscribe before reading, so nothing that happens in between is missed.
      const woken = nextWake(change.id, context);
      const events = await deps.store.listEvents(change.id, after);
      change = await load(change.id);
      const snapshot = changeToProto(change);
      for (const event of events) {
        after = event.sequence;
        yield { event: eventToProto(event), change: snapshot };
      }
      if (finalChangeStatuses.has(change.status) && (await deps.store.listEvents(change.id, after)).length === 0)
        return;
      if (context.signal.aborted) return;
      await woken;
    }
  }

  /** WatchChange streams open in this process, per principal id. */
  const watching = new Map<string, number>();
  /**
   * A reviewer in several teams acts for the team named, or else for the
   * first owning team still waiting for a reviewer that it reviews for, or
   * else for the change's team.
   */
  const reviewerFor = async (principal: Principal, team: string, id: string): Promise<Principal> => {
    if (team !== "" || !principal.teams) return actingFor(principal, team);
    const change = await deps.store.getChange(id);
    if (!change) return principal;
    const reviews = principal.teams.filter((m) => m.roles.includes("reviewer")).map((m) => m.team);
    const waiting = teamsStillToApprove(change.accessRequests, change.reviews);
    return actingFor(principal, "", waiting.find((t) => reviews.includes(t)) ?? change.team);
  };

  return {
    async getChange(req, context) {
      principalOf(context);
      const change = await load(req.id);
      const events = await deps.store.listEvents(change.id, 0);
      // The worker records each attempt's wait on the event that marks its engine slot (the latest counts).
      const slotted = events.findLast((event) => typeof event.details?.queuedForSlotMs === "number");
      return {
        change: changeToProto(change),
        events: events.map(eventToProto),
        queuedForSlotMs: BigInt(Math.round((slotted?.details?.queuedForSlotMs as number | undefined) ?? 0)),
      };
    },

    async listChanges(req, context) {
      principalOf(context);
      const violations: Violation[] = [];
      const size = checkedPageSize(req.pageSize, violations);
      const finishedAfter = isoTimeFilter(req.finishedAfter, "finished_after", violations);
      if (violations.length > 0) throw new InvalidArgumentError(violations);
      const page = await deps.store.listChanges(
        {
          status: changeStatusFromProto.get(req.status),
          type: req.type || undefined,
          name: req.name || undefined,
          team: req.team || undefined,
          finishedAfter,
        },
        size,
        req.pageToken,
      );
      return { changes: page.items.map(changeToProto), nextPageToken: page.nextPageToken };
    },

    async approveChange(req, context) {
      const reviewer = await reviewerFor(principalOf(context), req.team, req.id);
      return { change: changeToProto(await approveChange(deps, reviewer, req.id, req.comment)) };
    },

    async rejectChange(req, context) {
      const reviewer = await reviewerFor(principalOf(context), req.team, req.id);
      return { change: changeToProto(await rejectChange(deps, reviewer, req.id, req.comment)) };
    },

    async cancelChange(req, context) {
      const caller = actingFor(principalOf(context), "", (await deps.store.getChange(req.id))?.team);
      return { change: changeToProto(await cancelChange(deps, caller, req.id, req.comment)) };
    },

    async retryChange(req, context) {
      const caller = actingFor(principalOf(context), "", (await deps.store.getChange(req.id))?.team);
      return { change: changeToProto(await retryChange(deps, caller, req.id)) };
    },

    async *watchChange(req, context) {
      const principal = principalOf(context);
      const open = watching.get(principal.id) ?? 0;
      if (open >= deps.limits.maxWatchesPerPrincipal) {
        throw new ResourceExhaustedError(
          `${principal.id} already has ${open} WatchChange streams open, the limit (limits.maxWatchesPerPrincipal); close one first`,
        );
      }
      watching.set(principal.id, open + 1);
      try {
        yield* watch(req.id, Number(req.afterSequence), context);
      } finally {
        const left = (watching.get(principal.id) ?? 1) - 1;
        if (left === 0) watching.delete(principal.id);
        else watching.set(principal.id, left);
      }
    },
  };
}
