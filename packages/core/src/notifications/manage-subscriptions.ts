import { randomUUID } from "node:crypto";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from "../domain/errors.ts";
import type { LifecycleDeps } from "../domain/lifecycle-deps.ts";
import type { Principal } from "../domain/types.ts";
import type { DeliveryAttemptRecord, DeliveryRecord, NotificationKind, SubscriptionRecord } from "../store/records.ts";
import { checkWebhookTarget } from "./check-webhook.ts";
import { configSubscriptionPrefix } from "./notification-settings.ts";

export interface SubscriptionInput {
  url: string;
  format: "cloudevents" | "slack";
  secret: string;
  teams: string[];
  types: string[];
  kinds: NotificationKind[];
}

/** A subscription as its owner sees it: whether it signs, never the secret. */
export type SubscriptionView = Omit<SubscriptionRecord, "sealedSecret"> & { signed: boolean; fromConfig: boolean };

const isAdmin = (principal: Principal) => principal.roles.includes("admin");
/** Its owner team and admins; a subscription without an owner team (config, or deleted) is the admins' alone. */
const maySee = (principal: Principal, ownerTeam: string | undefined) =>
  isAdmin(principal) || (ownerTeam !== undefined && ownerTeam !== "" && ownerTeam === principal.team);

/**
 * A webhook URL is a credential (a Slack incoming webhook's path is its
 * token): admins see it whole, everyone else its origin only.
 */
export const shownUrl = (principal: Principal, url: string): string => {
  if (isAdmin(principal)) return url;
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "…";
  }
};

function view(principal: Principal, subscription: SubscriptionRecord & { secret?: string | null }): SubscriptionView {
  const { sealedSecret, secret, ...rest } = subscription;
  return {
    ...rest,
    url: shownUrl(principal, subscription.url),
    signed: Boolean(sealedSecret ?? secret),
    fromConfig: subscription.id.startsWith(configSubscriptionPrefix),
  };
}

/** Subscribes the caller's team; the secret is sealed with the service's key before it is stored. */
export async function createSubscription(
  deps: LifecycleDeps,
  principal: Principal,
  input: SubscriptionInput,
): Promise<SubscriptionView> {
  const violations = await checkWebhookTarget(deps.notifications.targets, input);
  const blank = (list: string[], field: string) =>
    list.forEach((value, index) => {
      if (value.trim() === "")
        violations.push({ field: `filter.${field}[${index}]`, description: "must not be empty" });
    });
  blank(input.teams, "teams");
  blank(input.types, "types");
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  // Another team's events are its own business: a team hears about its own teams' changes only.
  const foreign = input.teams.filter((team) => team !== principal.team);
  if (!isAdmin(principal) && foreign.length > 0) {
    throw new PermissionDeniedError(
      `team ${principal.team} may subscribe to its own events only, not to team(s) ${foreign.join(", ")}; ask an admin`,
    );
  }
  const subscription: SubscriptionRecord = {
    id: randomUUID(),
    ownerTeam: principal.team,
    createdBy: principal.id,
    url: input.url,
    format: input.format,
    sealedSecret: input.secret ? deps.notifications.sealSecret(input.secret) : null,
    // No team filter means every team for an admin, the caller's own team for anyone else.
    teams: input.teams.length === 0 && !isAdmin(principal) ? [principal.team] : input.teams,
    types: input.types,
    kinds: input.kinds,
    changeId: null,
    createdAt: deps.now().toISOString(),
  };
  const cap = deps.notifications.maxSubscriptionsPerTeam;
  await deps.store.transact(async (tx) => {
    // Counted in the transaction that inserts, so two at once cannot both take the last place.
    const held = (await tx.listSubscriptions(principal.team)).filter((s) => s.changeId === null).length;
    if (held >= cap) {
      throw new ResourceExhaustedError(
        `team ${principal.team} holds ${held} subscriptions, the limit (notifications.maxSubscriptionsPerTeam) is ${cap}; delete one first`,
      );
    }
    await tx.insertSubscription(subscription);
  });
  return view(principal, subscription);
}

export async function listSubscriptions(deps: LifecycleDeps, principal: Principal): Promise<SubscriptionView[]> {
  const stored = await deps.store.listSubscriptions(isAdmin(principal) ? undefined : principal.team);
  const live: SubscriptionRecord[] = [];
  for (const subscription of stored) if (!(await hasEnded(deps, subscription))) live.push(subscription);
  return [...deps.notifications.configSubscriptions.filter((s) => maySee(principal, s.ownerTeam)), ...live].map((s) =>
    view(principal, s),
  );
}

const finalStatuses = new Set(["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED"]);

/**
 * A per-change callback ends with its change: once the change is final and
 * nothing is left to send, it is no longer listed. Its row stays, so the
 * team still sees its deliveries (ListDeliveries by change).
 */
async function hasEnded(deps: LifecycleDeps, subscription: SubscriptionRecord): Promise<boolean> {
  if (!subscription.changeId) return false;
  const change = await deps.store.getChange(subscription.changeId);
  if (change && !finalStatuses.has(change.status)) return false;
  const deliveries = await deps.store.listDeliveries({ subscriptionId: subscription.id }, maxDeliveries);
  return deliveries.every((delivery) => delivery.status !== "PENDING");
}

export async function deleteSubscription(deps: LifecycleDeps, principal: Principal, id: string): Promise<void> {
  if (id.startsWith(configSubscriptionPrefix)) {
    throw new FailedPreconditionError(`subscription ${id} comes from the service config; change the config instead`);
  }
  await deps.store.transact(async (tx) => {
    const subscription = id ? await tx.getSubscription(id) : undefined;
    if (!subscription) throw new NotFoundError(`subscription "${id}" does not exist`);
    if (!maySee(principal, subscription.ownerTeam)) {
      throw new PermissionDeniedError(`only team ${subscription.ownerTeam} or an admin can delete subscription ${id}`);
    }
    await tx.deleteSubscription(id);
  });
}

const maxDeliveries = 500;

/**
 * Deliveries of one change or one subscription, with their attempts, limited
 * to what the caller may see: its team's subscriptions (every one for an
 * admin). A deleted subscription's deliveries are the admins' alone.
 */
export async function listDeliveries(
  deps: LifecycleDeps,
  principal: Principal,
  filter: { changeId: string; subscriptionId: string },
): Promise<(DeliveryRecord & { attemptLog: DeliveryAttemptRecord[] })[]> {
  if (!filter.changeId && !filter.subscriptionId) {
    throw new InvalidArgumentError([
      { field: "change_id", description: "set change_id or subscription_id", reason: "REQUIRED" },
      { field: "subscription_id", description: "set change_id or subscription_id", reason: "REQUIRED" },
    ]);
  }
  const owners = new Map<string, string>();
  for (const s of deps.notifications.configSubscriptions) owners.set(s.id, s.ownerTeam);
  for (const s of await deps.store.listSubscriptions()) owners.set(s.id, s.ownerTeam);
  const deliveries = await deps.store.listDeliveries(
    {
      changeId: filter.changeId || undefined,
      subscriptionId: filter.subscriptionId || undefined,
    },
    maxDeliveries,
  );
  const visible = deliveries.filter((d) => maySee(principal, owners.get(d.subscriptionId)));
  const shown = isAdmin(principal) ? (error: string | null) => error : shownError;
  return await Promise.all(
    visible.map(async (d) => ({
      ...d,
      lastError: shown(d.lastError),
      attemptLog: (await deps.store.listDeliveryAttempts(d.id)).map((a) => ({ ...a, error: shown(a.error) })),
    })),
  );
}

/**
 * What a non-admin learns of a failed attempt: the receiver's own HTTP
 * status, or that it failed. The network's words (connection refused,
 * which address, a timeout) would let a requester map the inside network
 * through a callback; admins and the server log have them.
 */
function shownError(error: string | null): string | null {
  if (error === null || /^the receiver answered HTTP \d+$/.test(error) || error === "the subscription was deleted") {
    return error;
  }
  return "delivery failed (an admin sees why)";
}
