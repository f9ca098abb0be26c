import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Callback,
  type Delivery,
  DeliveryAttemptSchema,
  DeliverySchema,
  DeliveryStatus,
  NotificationFormat,
  NotificationKind,
  type Subscription,
  SubscriptionFilterSchema,
  SubscriptionSchema,
} from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import type { CallbackInput } from "../domain/submit-types.ts";
import type { SubscriptionView } from "../notifications/manage-subscriptions.ts";
import type * as records from "../store/records.ts";

// Notifications: domain <-> protobuf.

const ts = (iso: string | null) => (iso ? timestampFromDate(new Date(iso)) : undefined);
const tsMs = (ms: number) => timestampFromDate(new Date(ms));

export const notificationKindToProto: Record<records.NotificationKind, NotificationKind> = {
  SUBMITTED: NotificationKind.SUBMITTED,
  PENDING_REVIEW: NotificationKind.PENDING_REVIEW,
  APPROVED: NotificationKind.APPROVED,
  REJECTED: NotificationKind.REJECTED,
  SUCCEEDED: NotificationKind.SUCCEEDED,
  FAILED: NotificationKind.FAILED,
  DRIFT_DETECTED: NotificationKind.DRIFT_DETECTED,
  SECRET_REVEALED: NotificationKind.SECRET_REVEALED,
  REVIEW_ESCALATED: NotificationKind.REVIEW_ESCALATED,
  CANCELLED: NotificationKind.CANCELLED,
};

const kindFromProto = new Map(
  Object.entries(notificationKindToProto).map(([domain, proto]) => [proto, domain as records.NotificationKind]),
);

/** Unknown or unspecified kinds are dropped: an empty list means "every kind". */
export const notificationKindsFromProto = (kinds: NotificationKind[]): records.NotificationKind[] =>
  kinds.flatMap((kind) => kindFromProto.get(kind) ?? []);

export const formatFromProto = (format: NotificationFormat): "cloudevents" | "slack" =>
  format === NotificationFormat.SLACK ? "slack" : "cloudevents";

const formatToProto = (format: "cloudevents" | "slack") =>
  format === "slack" ? NotificationFormat.SLACK : NotificationFormat.CLOUDEVENTS;

const deliveryStatusToProto: Record<records.DeliveryStatus, DeliveryStatus> = {
  PENDING: DeliveryStatus.PENDING,
  DELIVERED: DeliveryStatus.DELIVERED,
  EXPIRED: DeliveryStatus.EXPIRED,
};

export const callbackFromProto = (callback: Callback | undefined): CallbackInput | undefined =>
  callback && {
    url: callback.url,
    secret: callback.secret,
    format: formatFromProto(callback.format),
    kinds: notificationKindsFromProto(callback.kinds),
  };

export function subscriptionToProto(s: SubscriptionView): Subscription {
  return create(SubscriptionSchema, {
    id: s.id,
    ownerTeam: s.ownerTeam,
    createdBy: s.createdBy,
    url: s.url,
    format: formatToProto(s.format),
    filter: create(SubscriptionFilterSchema, {
      teams: s.teams,
      types: s.types,
      kinds: s.kinds.map((kind) => notificationKindToProto[kind]),
    }),
    changeId: s.changeId ?? "",
    signed: s.signed,
    fromConfig: s.fromConfig,
    createTime: s.fromConfig ? undefined : ts(s.createdAt),
  });
}

export function deliveryToProto(d: records.DeliveryRecord & { attemptLog: records.DeliveryAttemptRecord[] }): Delivery {
  const data = (d.event.data ?? {}) as { message?: unknown };
  return create(DeliverySchema, {
    id: d.id,
    eventId: d.eventId,
    subscriptionId: d.subscriptionId,
    changeId: d.changeId ?? "",
    kind: notificationKindToProto[d.kind],
    status: deliveryStatusToProto[d.status],
    attempts: d.attempts,
    nextAttemptTime: d.status === "PENDING" ? tsMs(d.nextAttemptAt) : undefined,
    expireTime: tsMs(d.expiresAt),
    lastError: d.lastError ?? "",
    lastStatusCode: d.lastStatusCode ?? 0,
    createTime: ts(d.createdAt),
    deliverTime: ts(d.deliveredAt),
    message: typeof data.message === "string" ? data.message : "",
    attemptLog: d.attemptLog.map((a) =>
      create(DeliveryAttemptSchema, {
        attempt: a.attempt,
        time: ts(a.time),
        statusCode: a.statusCode ?? 0,
        error: a.error ?? "",
        durationMs: BigInt(a.durationMs),
      }),
    ),
  });
}
