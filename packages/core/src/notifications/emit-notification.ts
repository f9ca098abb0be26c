import { randomUUID } from "node:crypto";
import { CloudEvent } from "cloudevents";
import type { JsonObject } from "../domain/types.ts";
import type { ChangeRecord, NotificationKind, SubscriptionRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import type { NotificationSettings } from "./notification-settings.ts";

/** What emitting needs; the lifecycle's deps have it. */
export interface EmitDeps {
  notifications: NotificationSettings;
  now: () => Date;
}

/** What happened, to which resource, and (for change events) the change. */
export interface NotificationSubject {
  kind: NotificationKind;
  type: string;
  name: string;
  team: string;
  change: ChangeRecord | null;
  /** One line for people, e.g. "change c-12 to kafka.topic orders is pending review". */
  message: string;
  /** More facts for machines, merged into the event's data. */
  details?: JsonObject;
}

const eventTypes: Record<NotificationKind, string> = {
  SUBMITTED: "dev.plinth.change.submitted",
  PENDING_REVIEW: "dev.plinth.change.pending_review",
  APPROVED: "dev.plinth.change.approved",
  REJECTED: "dev.plinth.change.rejected",
  SUCCEEDED: "dev.plinth.change.succeeded",
  FAILED: "dev.plinth.change.failed",
  DRIFT_DETECTED: "dev.plinth.resource.drift_detected",
  SECRET_REVEALED: "dev.plinth.resource.secret_revealed",
  REVIEW_ESCALATED: "dev.plinth.change.review_escalated",
  CANCELLED: "dev.plinth.change.cancelled",
};

export function matches(subscription: SubscriptionRecord, subject: NotificationSubject): boolean {
  const within = <T>(list: T[], value: T) => list.length === 0 || list.includes(value);
  return (
    within(subscription.teams, subject.team) &&
    within(subscription.types, subject.type) &&
    within(subscription.kinds, subject.kind) &&
    (subscription.changeId === null || subscription.changeId === subject.change?.id)
  );
}

export const changeLink = (settings: NotificationSettings, changeId: string) =>
  `${settings.consoleUrl}/changes/${encodeURIComponent(changeId)}`;
export const resourceLink = (settings: NotificationSettings, type: string, name: string) =>
  `${settings.consoleUrl}/resources/${encodeURIComponent(type)}/${encodeURIComponent(name)}`;

function changeData(change: ChangeRecord): JsonObject {
  return {
    id: change.id,
    type: change.type,
    name: change.name,
    kind: change.kind,
    status: change.status,
    requestedBy: change.requestedBy,
    team: change.team,
    requiredApprovals: change.requiredApprovals,
    approvals: change.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer),
    reviewReasons: change.reviewReasons,
    lastError: change.lastError,
    resultRevision: change.resultRevision,
    createdAt: change.createdAt,
  };
}

/**
 * Puts one event in the outbox of every subscription it matches, in the
 * caller's transaction: it is sent if and only if what it announces is
 * committed. The event (and its id) is fixed here, so every attempt sends the
 * same bytes and receivers can drop duplicates by id.
 */
export async function emitNotification(
  tx: StoreTx,
  deps: EmitDeps,
  subject: NotificationSubject,
  /** The store's subscriptions for this change, when the caller already read them (one read for many events). */
  knownSubscriptions?: SubscriptionRecord[],
): Promise<void> {
  const settings = deps.notifications;
  const changeId = subject.change?.id ?? null;
  const candidates = knownSubscriptions ?? (await tx.subscriptionsFor(changeId));
  const subscriptions = [...settings.configSubscriptions, ...candidates].filter((s) => matches(s, subject));
  if (subscriptions.length === 0) return;
  const now = deps.now();
  const eventId = randomUUID();
  const event = new CloudEvent<JsonObject>({
    id: eventId,
    source: "/plinth",
    type: eventTypes[subject.kind],
    subject: `${subject.type}/${subject.name}`,
    time: now.toISOString(),
    datacontenttype: "application/json",
    data: {
      kind: subject.kind,
      message: subject.message,
      resource: { type: subject.type, name: subject.name, team: subject.team },
      change: subject.change && changeData(subject.change),
      url: changeId ? changeLink(settings, changeId) : resourceLink(settings, subject.type, subject.name),
      ...subject.details,
    },
  });
  const stored = JSON.parse(JSON.stringify(event)) as JsonObject;
  for (const subscription of subscriptions) {
    await tx.insertDelivery({
      id: randomUUID(),
      eventId,
      subscriptionId: subscription.id,
      changeId,
      kind: subject.kind,
      event: stored,
      status: "PENDING",
      attempts: 0,
      nextAttemptAt: now.getTime(),
      expiresAt: now.getTime() + (subscription.changeId ? settings.callbackExpireAfterMs : settings.expireAfterMs),
      lastError: null,
      lastStatusCode: null,
      createdAt: now.toISOString(),
      deliveredAt: null,
    });
  }
}

const describeChange = (change: ChangeRecord) =>
  `${change.kind} of ${change.type} "${change.name}" (change ${change.id})`;

/** The event for a change's transition, plus the review timers when it starts waiting for reviewers. */
export async function notifyChange(
  tx: StoreTx,
  deps: EmitDeps,
  change: ChangeRecord,
  kind: NotificationKind,
  message?: string,
): Promise<void> {
  const said: Partial<Record<NotificationKind, string>> = {
    SUBMITTED: `${describeChange(change)} submitted by ${change.requestedBy}`,
    PENDING_REVIEW: `${describeChange(change)} is pending review: ${change.reviewReasons.join("; ")}`,
    APPROVED: `${describeChange(change)} is approved`,
    REJECTED: `${describeChange(change)} was rejected`,
    SUCCEEDED: `${describeChange(change)} succeeded`,
    FAILED: `${describeChange(change)} failed: ${change.lastError ?? "unknown error"}`,
    CANCELLED: `${describeChange(change)} was cancelled`,
  };
  await emitNotification(tx, deps, {
    kind,
    type: change.type,
    name: change.name,
    team: change.team,
    change,
    message: message ?? said[kind] ?? `${describeChange(change)}: ${kind.toLowerCase()}`,
  });
  if (kind === "PENDING_REVIEW") {
    const { remindAfterMs, escalateAfterMs } = deps.notifications;
    const now = deps.now().getTime();
    if (remindAfterMs > 0)
      await tx.upsertReviewTimer({ changeId: change.id, kind: "reminder", dueAt: now + remindAfterMs });
    if (escalateAfterMs > 0) {
      await tx.upsertReviewTimer({ changeId: change.id, kind: "escalation", dueAt: now + escalateAfterMs });
    }
  }
}
