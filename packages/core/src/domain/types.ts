/** JSON values as stored and sent: specs, resolved specs and outputs. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type Role = "requester" | "reviewer" | "admin";

/** Who is calling, as established by the auth interceptor from a bearer token. */
export interface Principal {
  id: string;
  /** The team it acts for in this request, and its roles there. */
  team: string;
  roles: Role[];
  /**
   * Every team the caller may act for, with its roles in each (from the
   * identity provider's groups); absent for a static token, whose one team is `team`.
   */
  teams?: TeamMembership[];
  /** For a token from an identity provider: who issued it and its subject, for the audit trail. */
  issuer?: string;
  subject?: string;
}

export interface TeamMembership {
  team: string;
  roles: Role[];
}

export type ChangeKind = "CREATE" | "UPDATE" | "DELETE";

export type ChangeStatus =
  "PENDING_REVIEW" | "APPROVED" | "QUEUED" | "APPLYING" | "SUCCEEDED" | "FAILED" | "REJECTED" | "CANCELLED";

/** Statuses after which a change never moves again. */
export const finalChangeStatuses: ReadonlySet<ChangeStatus> = new Set(["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED"]);

export type ResourceStatus = "PROVISIONING" | "READY" | "FAILED" | "DELETING" | "DELETED" | "DRIFTED";

export interface Review {
  reviewer: string;
  /** The reviewer's team when it reviewed: an access request needs a reviewer of the owning team. */
  team?: string;
  decision: "APPROVED" | "REJECTED";
  comment: string;
  createdAt: string;
}

/** One difference between two resolved specs, by dotted path. */
export interface SpecDifference {
  path: string;
  op: "added" | "removed" | "changed";
  before?: Json;
  after?: Json;
}
