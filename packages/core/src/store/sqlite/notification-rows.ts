import type { DeliveryAttemptRecord, DeliveryRecord, ReviewTimerRecord, SubscriptionRecord } from "../records.ts";
import { type Row, json } from "./rows.ts";

// Row <-> record mapping of the notification tables (006-outbox.sql).

const list = <T>(text: unknown): T[] => (typeof text === "string" ? (JSON.parse(text) as T[]) : []);

export function subscriptionToRow(s: SubscriptionRecord): Row {
  return {
    id: s.id,
    owner_team: s.ownerTeam,
    created_by: s.createdBy,
    url: s.url,
    format: s.format,
    sealed_secret: s.sealedSecret,
    teams: json(s.teams),
    types: json(s.types),
    kinds: json(s.kinds),
    change_id: s.changeId,
    created_at: s.createdAt,
  };
}

export function subscriptionFromRow(row: Row): SubscriptionRecord {
  return {
    id: row.id as string,
    ownerTeam: row.owner_team as string,
    createdBy: row.created_by as string,
    url: row.url as string,
    format: row.format as SubscriptionRecord["format"],
    sealedSecret: row.sealed_secret as string | null,
    teams: list(row.teams),
    types: list(row.types),
    kinds: list(row.kinds),
    changeId: row.change_id as string | null,
    createdAt: row.created_at as string,
  };
}

export function deliveryToRow(d: DeliveryRecord): Row {
  return {
    id: d.id,
    event_id: d.eventId,
    subscription_id: d.subscriptionId,
    change_id: d.changeId,
    kind: d.kind,
    event: JSON.stringify(d.event),
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    expires_at: d.expiresAt,
    last_error: d.lastError,
    last_status_code: d.lastStatusCode,
    created_at: d.createdAt,
    delivered_at: d.deliveredAt,
  };
}

export function deliveryFromRow(row: Row): DeliveryRecord {
  return {
    id: row.id as string,
    eventId: row.event_id as string,
    subscriptionId: row.subscription_id as string,
    changeId: row.change_id as string | null,
    kind: row.kind as DeliveryRecord["kind"],
    event: JSON.parse(row.event as string) as DeliveryRecord["event"],
    status: row.status as DeliveryRecord["status"],
    attempts: row.attempts as number,
    nextAttemptAt: row.next_attempt_at as number,
    expiresAt: row.expires_at as number,
    lastError: row.last_error as string | null,
    lastStatusCode: row.last_status_code as number | null,
    createdAt: row.created_at as string,
    deliveredAt: row.delivered_at as string | null,
  };
}

export function attemptFromRow(row: Row): DeliveryAttemptRecord {
  return {
    deliveryId: row.delivery_id as string,
    attempt: row.attempt as number,
    time: row.time as string,
    statusCode: row.status_code as number | null,
    error: row.error as string | null,
    durationMs: row.duration_ms as number,
  };
}

export function reviewTimerFromRow(row: Row): ReviewTimerRecord {
  return {
    changeId: row.change_id as string,
    kind: row.kind as ReviewTimerRecord["kind"],
    dueAt: row.due_at as number,
  };
}
