import { type JsonValue } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { ChangeKind, ChangeStatus, ReviewDecision } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { DeliveryStatus, NotificationKind } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";

const words = (name: string | undefined): string => (name ?? "unknown").toLowerCase().replaceAll("_", " ");

export const statusLabel = (s: ChangeStatus): string => words(ChangeStatus[s]);
export const kindLabel = (k: ChangeKind): string => words(ChangeKind[k]);
export const resourceStatusLabel = (s: ResourceStatus): string => words(ResourceStatus[s]);
export const decisionLabel = (d: ReviewDecision): string => words(ReviewDecision[d]);
export const notificationKindLabel = (k: NotificationKind): string => words(NotificationKind[k]);
export const deliveryStatusLabel = (s: DeliveryStatus): string => words(DeliveryStatus[s]);

/** The statuses a reviewer filters by, in lifecycle order. */
export const filterableStatuses: ChangeStatus[] = [
  ChangeStatus.PENDING_REVIEW,
  ChangeStatus.APPROVED,
  ChangeStatus.QUEUED,
  ChangeStatus.APPLYING,
  ChangeStatus.SUCCEEDED,
  ChangeStatus.FAILED,
  ChangeStatus.REJECTED,
  ChangeStatus.CANCELLED,
];

export const finalStatuses: ReadonlySet<ChangeStatus> = new Set([
  ChangeStatus.SUCCEEDED,
  ChangeStatus.FAILED,
  ChangeStatus.REJECTED,
  ChangeStatus.CANCELLED,
]);

export const dateOf = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

/** "3 min", "2 h", "5 d": how long something has waited. */
export function age(t: Timestamp | undefined, now: number): string {
  const date = dateOf(t);
  if (!date) return "";
  return duration(now - date.getTime());
}

/** "45 s", "3 min", "2 h", "5 d": a length of time, rounded down to its largest unit. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

/**
 * The part of a change id that tells changes apart. Ids are `chg_` and a
 * UUIDv7 in hex, whose first 12 digits are the submission time: changes
 * submitted within a minute of each other share their first characters, so
 * the random tail is what a person can tell apart (the full id goes in the
 * link's address and title).
 */
export const shortChangeId = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);

export const timeText = (t: Timestamp | undefined): string => dateOf(t)?.toLocaleString() ?? "";
export const isoText = (t: Timestamp | undefined): string => dateOf(t)?.toISOString() ?? "";

/** Leaf values by dotted path ("config.retention.ms"), the way the service names spec paths. */
export function flatten(value: JsonValue | undefined, prefix = "", into = new Map<string, JsonValue>()) {
  const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
  if (isObject && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix !== "" || (value !== undefined && !isObject)) {
    // An empty object at the top is nothing to list (a resource without outputs), not a row `{}`.
    into.set(prefix, value ?? null);
  }
  return into;
}

/** Leaf values by dotted path, lists included by index ("access.0.topics.prefix"), the way grants name fields. */
export function specRows(value: JsonValue | undefined, prefix = "", into: [string, JsonValue][] = []) {
  const children = Array.isArray(value)
    ? value.map((item, i) => [String(i), item] as const)
    : value !== null && typeof value === "object"
      ? Object.entries(value)
      : undefined;
  if (children && children.length > 0) {
    for (const [key, item] of children) specRows(item, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix !== "") {
    into.push([prefix, value ?? null]);
  }
  return into;
}

export const show = (value: JsonValue | undefined): string =>
  value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

export interface DiffRow {
  path: string;
  before?: JsonValue;
  after?: JsonValue;
  op: "same" | "added" | "removed" | "changed";
}

/** Side-by-side rows of two JSON documents, by leaf path, in a stable order. */
export function diffRows(before: JsonValue | undefined, after: JsonValue | undefined): DiffRow[] {
  const a = before === undefined ? new Map<string, JsonValue>() : flatten(before);
  const b = after === undefined ? new Map<string, JsonValue>() : flatten(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.map((path) => {
    const x = a.get(path);
    const y = b.get(path);
    const op = x === undefined ? "added" : y === undefined ? "removed" : show(x) === show(y) ? "same" : "changed";
    return { path, before: x, after: y, op };
  });
}
