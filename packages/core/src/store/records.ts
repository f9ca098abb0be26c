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
  leaseExpiresAt: number | null;
  /** "preview": compute the engine preview for reviewers; "apply": make the change real. */
  phase: "preview" | "apply";
  /** Fencing token of the current claim: distinct from every earlier claim's of this change; null until claimed. */
  claimToken: number | null;
  /** How many times the job was claimed; kept when `upsertJob` replaces the row. */
  claims: number;
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
}

export interface ResourceFilter {
  type?: string;
  team?: string;
  status?: ResourceStatus;
}
