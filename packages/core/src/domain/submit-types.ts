import type { ChangeRecord, NotificationKind, ResourceRecord } from "../store/records.ts";

/** Ask for a webhook about this change only: the orchestrator's alternative to polling. */
export interface CallbackInput {
  url: string;
  format: "cloudevents" | "slack";
  /** HMAC-SHA256 key for the signature header; empty: unsigned. */
  secret: string;
  /** Empty: every event of the change. */
  kinds: NotificationKind[];
}
import type { ChangeKind, JsonObject, SpecDifference } from "./types.ts";
export interface ApplyInput {
  type: string;
  name: string;
  spec: JsonObject;
  requestId: string;
  expectedRevision?: number;
  comment: string;
  labels: Record<string, string>;
  /** Re-apply even when the spec equals the recorded one (repairing drift). */
  force?: boolean;
  /**
   * The reconciler's own repair of drift (`repair` in the config): `auto`
   * needs no approval (a destructive engine preview still escalates it to
   * review), `review` needs at least one.
   */
  repair?: "auto" | "review";
  /** Admins only: proceed despite overridable (guardrail) violations; reviewed and audited. */
  overrideGuardrails?: boolean;
  callback?: CallbackInput;
}

export interface DeleteInput {
  type: string;
  name: string;
  requestId: string;
  expectedRevision?: number;
  comment: string;
  callback?: CallbackInput;
}

export interface SubmitResult {
  change: ChangeRecord | undefined;
  resource: ResourceRecord | undefined;
  deduplicated: boolean;
  noOp: boolean;
}

export interface PreviewResult {
  kind: ChangeKind;
  resolvedSpec: JsonObject;
  explanations: Record<string, string>;
  differences: SpecDifference[];
  noOp: boolean;
  requiredApprovals: number;
  reviewReasons: string[];
}
