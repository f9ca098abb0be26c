import type { ChangeKind, ChangeStatus, JsonObject, ResourceStatus, Review } from "../domain/types.ts";

/** A managed resource as stored: its latest applied state plus its identity reservation. */
export interface ResourceRecord {
  type: string;
  name: string;
  /** The plugin's identity key; unique per type among resources not DELETED. */
  identity: string;
  ownerTeam: string;
  status: ResourceStatus;
  /** Latest applied revision; 0 until the first change succeeds. */
  revision: number;
  spec: JsonObject | null;
  resolvedSpec: JsonObject | null;
  outputs: JsonObject;
  /** Encrypted secret outputs (opaque to the store). */
  secretOutputs: string | null;
  secretOutputKeys: string[];
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** Set while DRIFTED: what the reconciler found. */
  drift: ResourceDrift | null;
}

export interface ResourceDrift {
  detectedAt: string;
  /** In words, e.g. "verify: topic has 24 partitions, expected 12" or "engine: update 1". */
  findings: string[];
  details: JsonObject;
}

export interface ChangeRecord {
  id: string;
  /** Global submission order; changes to one resource apply in this order. */
  seq: number;
  type: string;
  name: string;
  kind: ChangeKind;
  status: ChangeStatus;
  requestedBy: string;
  team: string;
  /** The spec as submitted; null for a delete. */
  spec: JsonObject | null;
  /** After defaults; null for a delete. */
  resolvedSpec: JsonObject | null;
  explanations: Record<string, string>;
  baseRevision: number;
  requiredApprovals: number;
  reviewReasons: string[];
  reviews: Review[];
  attempts: number;
  lastError: string | null;
  comment: string;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  resultRevision: number | null;
  /** What the engine plans for this change, computed at the head of the resource's queue. */
  preview: ChangePreview | null;
  /**
   * What this change asks of teams other than the resource's owner (a grant
   * on their topics, a transfer to them): each owning team's reviewer must
   * approve. Empty for most changes.
   */
  accessRequests: AccessRequestRecord[];
  /** The change set it was submitted in, and its dependency order there; absent for most changes. */
  changeSetId?: string | null;
  changeSetOrder?: number;
}

/** One team's approval a change needs because it reaches what that team owns. */
export interface AccessRequestRecord {
  /** Dotted spec path of what reaches, e.g. "access.0.topics"; "owner.team" for a transfer. */
  field: string;
  /** The team that owns what is reached; one of its reviewers must approve. */
  ownerTeam: string;
  /** The team asking. */
  requesterTeam: string;
  /** What is asked, completing "<requesterTeam> asks to ...", e.g. "read topics orders.*". */
  access: string;
}

export interface ChangePreview {
  /** Step counts, e.g. { update: 1 } or { replace: 1 }. */
  steps: Record<string, number>;
  /** A stateful resource would be replaced or deleted. */
  destructive: boolean;
  details: JsonObject;
  time: string;
}

export interface ChangeEventRecord {
  changeId: string;
  sequence: number;
  time: string;
  /** Set on status transitions. */
  status: ChangeStatus | null;
  kind: "status" | "review" | "engine" | "diagnostic" | "verify" | "retry";
  message: string;
  details: JsonObject | null;
}

export interface RevisionRecord {
  type: string;
  name: string;
  revision: number;
  changeId: string;
  spec: JsonObject | null;
  resolvedSpec: JsonObject | null;
  outputs: JsonObject;
  requestedBy: string;
  approvedBy: string[];
  createdAt: string;
  deleted: boolean;
}

export interface IdempotencyRecord {
  principal: string;
  requestId: string;
  /** Hash of the canonical request, to refuse reuse of a key for another request. */
  requestHash: string;
  /** Null when the request was a no-op. */
  changeId: string | null;
  createdAt: string;
}

/** A queued change, claimable by a worker once it is the head of its resource's queue. */
export interface JobRecord {
  changeId: string;
  type: string;
  name: string;
  seq: number;
  /** Epoch ms before which the job must not run (retry backoff). */
  runAfter: number;
  leaseOwner: string | null;
  /** When the lease ends, in ms on the store's own lease clock (not the wall clock): compare only with the store. */
  leaseExpiresAt: number | null;
  /**
   * The fencing token of the claim that holds this job, null while nobody holds
   * it. Every claim gets a token no earlier claim of the same change had, so a
   * worker whose lease lapsed (even one that claimed the job again meanwhile)
   * can tell its old attempt from the current one. Ignored by `upsertJob`.
   */
  claimToken: number | null;
  /**
   * How many times jobs of this change were claimed, in every phase and across
   * jobs replaced or re-created (approval, retry). Kept by the store; ignored
   * by `upsertJob`.
   */
  claims: number;
  /** "preview": compute the engine preview for reviewers; "apply": make the change real. */
  phase: "preview" | "apply";
}

/** A principal an admin denied: every request of it is refused until the row is gone. */
export interface DenialRecord {
  principal: string;
  reason: string;
  deniedBy: string;
  deniedAt: string;
}

/** A server process, as its beats tell (see `StoreTx.beatReplica`). */
export interface ReplicaIdentity {
  /** Unique per process (the worker's lease owner). */
  replica: string;
  /** The machine's host name, as the Pulumi CLI writes it into a stack lock. */
  host: string;
  pid: number;
}

/** A replica's beats, their ages on the store's clock, so that replicas whose clocks differ judge them alike. */
export interface ReplicaBeat extends ReplicaIdentity {
  /** How long ago (ms) its first beat was. */
  startedMsAgo: number;
  /** How long ago (ms) its latest beat was. */
  silentMs: number;
}

export interface AuditRecord {
  time: string;
  principal: string;
  action: string;
  target: string;
  details: JsonObject;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export interface ChangeFilter {
  status?: ChangeStatus;
  type?: string;
  name?: string;
  team?: string;
  /** Only changes whose `finishedAt` is this ISO time or later. */
  finishedAfter?: string;
}

export interface ResourceFilter {
  type?: string;
  team?: string;
  status?: ResourceStatus;
}

/** What a notification is about; subscriptions filter on these. */
export type NotificationKind =
  | "SUBMITTED"
  | "PENDING_REVIEW"
  | "APPROVED"
  | "REJECTED"
  | "SUCCEEDED"
  | "FAILED"
  | "DRIFT_DETECTED"
  | "SECRET_REVEALED"
  | "REVIEW_ESCALATED"
  | "CANCELLED";

/** A webhook a team registered through the API (config subscriptions live only in the config). */
export interface SubscriptionRecord {
  id: string;
  /** The team that may see it and its deliveries. */
  ownerTeam: string;
  createdBy: string;
  url: string;
  format: "cloudevents" | "slack";
  /** The HMAC-SHA256 secret, sealed with the service's secret key; null: deliveries are unsigned. */
  sealedSecret: string | null;
  /** Filters; an empty list matches everything. */
  teams: string[];
  types: string[];
  kinds: NotificationKind[];
  /** Set for a per-change callback: only that change's events match. */
  changeId: string | null;
  createdAt: string;
}

export type DeliveryStatus = "PENDING" | "DELIVERED" | "EXPIRED";

/** One event for one subscription, in the outbox until its receiver answers 2xx or it expires. */
export interface DeliveryRecord {
  id: string;
  /** The CloudEvent id: the same for every attempt, so receivers can drop duplicates. */
  eventId: string;
  subscriptionId: string;
  changeId: string | null;
  kind: NotificationKind;
  /** The CloudEvent as JSON, fixed when the event happened. */
  event: JsonObject;
  status: DeliveryStatus;
  /** Attempts started, including one a crash cut short. */
  attempts: number;
  /** Epoch ms: when the next attempt may start (also the lease of an attempt in flight). */
  nextAttemptAt: number;
  /** Epoch ms: no attempt starts after this. */
  expiresAt: number;
  lastError: string | null;
  lastStatusCode: number | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface DeliveryAttemptRecord {
  deliveryId: string;
  attempt: number;
  time: string;
  /** The receiver's HTTP status; null when no response came. */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** A reminder or escalation due for a change still pending review at `dueAt` (epoch ms). */
export interface ReviewTimerRecord {
  changeId: string;
  kind: "reminder" | "escalation";
  dueAt: number;
}

export type ImportStatus = "PENDING_REVIEW" | "RECORDING" | "IMPORTED" | "REJECTED";

/** An operator's owner rule: resources whose name starts with `prefix` go to `team`. */
export interface ImportRuleRecord {
  prefix: string;
  team: string;
  contact: string;
}

/** One resource an import brings under management, as observed when the import was planned. */
export interface ImportItemRecord {
  name: string;
  identity: string;
  ownerTeam: string;
  /** The spec as a client would write it, from the plugin's `importSpec`. */
  spec: JsonObject;
  /** After defaults: what the bulk observation compared with the real system and found the same. */
  resolvedSpec: JsonObject;
}

/** Something the scope held that the import leaves alone, and why. */
export interface ImportSkipRecord {
  name: string;
  reason: string;
}

/** A bulk import: one plan of many resources, reviewed once, recorded as managed without touching them. */
export interface ImportRecord {
  id: string;
  requestedBy: string;
  /** The requester's idempotency key for this import. */
  requestId: string;
  type: string;
  scope: string;
  status: ImportStatus;
  comment: string;
  /** The owner rules it was planned with: approval observes again with them. */
  rules: ImportRuleRecord[];
  items: ImportItemRecord[];
  skipped: ImportSkipRecord[];
  /**
   * While RECORDING: the approved items not recorded yet, taken a batch at a
   * time (each batch one transaction). Empty otherwise.
   */
  pending?: ImportItemRecord[];
  /** While RECORDING: the items recorded so far; once IMPORTED they are `items`. */
  recorded?: ImportItemRecord[];
  reviews: Review[];
  createdAt: string;
  updatedAt: string;
}
