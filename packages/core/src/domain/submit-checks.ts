import { hash as digest } from "node:crypto";
import type { Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ResourceRecord } from "../store/records.ts";
import type { StoreReader, StoreTx } from "../store/store.ts";
import { AbortedError, FailedPreconditionError, InvalidArgumentError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { closestName } from "./closest-name.ts";
import { freeTextViolations } from "./free-text-limits.ts";
import { canonicalJson } from "./spec-diff.ts";
import type { JsonObject, Principal } from "./types.ts";
import type { SubmitResult } from "./submit-types.ts";

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const requestIdPattern = /^[\x21-\x7e]{1,128}$/;

/**
 * The checks every submit shares (type, name, request id, free-text limits),
 * all reported at once as INVALID_ARGUMENT.
 */
export function checkCommonFields(
  deps: LifecycleDeps,
  type: string,
  name: string,
  requestId?: string,
  text: Parameters<typeof freeTextViolations>[0] = {},
  /** Problems the caller found in its own fields, reported together with these. */
  more: Violation[] = [],
): LoadedPlugin {
  const violations: Violation[] = [...more];
  const plugin = deps.plugins.get(type);
  if (!plugin) {
    const known = deps.plugins.list().map((p) => p.definition.type);
    const close = closestName(type, known);
    violations.push({
      field: "type",
      description: `unknown resource type "${type}"; ${close ? `did you mean "${close}"? ` : ""}this service knows: ${known.join(", ") || "(no plugins loaded)"}`,
      reason: "UNKNOWN_TYPE",
    });
  }
  if (!namePattern.test(name)) {
    violations.push({
      field: "name",
      description: "must be 1-253 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
      reason: "INVALID_NAME",
    });
  }
  if (requestId !== undefined && requestId !== "" && !requestIdPattern.test(requestId)) {
    violations.push({
      field: "request_id",
      description: "must be 1-128 printable ASCII characters without spaces (a UUID is ideal)",
      reason: "INVALID_REQUEST_ID",
    });
  }
  violations.push(...freeTextViolations(text));
  if (violations.length > 0 || !plugin) throw new InvalidArgumentError(violations);
  return plugin;
}

/** What a resource is meant to be once every live change ahead of a new one has applied. */
export interface DesiredState {
  resource: ResourceRecord | undefined;
  exists: boolean;
  resolvedSpec: JsonObject | undefined;
  /** The spec as submitted that `resolvedSpec` was resolved from: what a rebuilt change starts from. */
  spec: JsonObject | undefined;
  labels: Record<string, string>;
}

export async function desiredState(tx: StoreReader, type: string, name: string): Promise<DesiredState> {
  const resource = await tx.getResource(type, name);
  const tip = await tx.latestLiveChange(type, name);
  if (tip && tip.status !== "SUCCEEDED") {
    return {
      resource,
      exists: tip.kind !== "DELETE",
      resolvedSpec: tip.resolvedSpec ?? undefined,
      spec: tip.spec ?? undefined,
      labels: tip.labels,
    };
  }
  return appliedState(resource);
}

/**
 * The resource as it is applied, ignoring changes still open: the basis the
 * worker applies a change on, so the one its verdict is computed against at claim.
 */
export function appliedState(resource: ResourceRecord | undefined): DesiredState {
  const exists = resource !== undefined && resource.status !== "DELETED" && resource.revision > 0;
  return {
    resource,
    exists,
    resolvedSpec: exists ? (resource?.resolvedSpec ?? undefined) : undefined,
    spec: exists ? (resource?.spec ?? undefined) : undefined,
    labels: resource?.labels ?? {},
  };
}

export function requestHash(operation: string, input: object): string {
  return digest("sha256", `${operation}\n${canonicalJson(input)}`, "hex");
}

/** Stripe-style idempotency: the same key and payload returns the original outcome; another payload is refused. */
export async function replayIfSeen(
  tx: StoreTx,
  principal: Principal,
  requestId: string,
  hash: string,
): Promise<SubmitResult | undefined> {
  if (!requestId) return undefined;
  const seen = await tx.getIdempotencyKey(principal.id, requestId);
  if (!seen) return undefined;
  if (seen.requestHash !== hash) {
    throw new InvalidArgumentError([
      {
        field: "request_id",
        description: "was already used for a different request; use a new request_id for a new request",
        reason: "IDEMPOTENCY_KEY_REUSED",
      },
    ]);
  }
  const change = seen.changeId ? await tx.getChange(seen.changeId) : undefined;
  const resource = change ? await tx.getResource(change.type, change.name) : undefined;
  return { change, resource, deduplicated: true, noOp: seen.changeId === null };
}

export function checkExpectedRevision(expected: number | undefined, resource: ResourceRecord | undefined): void {
  if (expected === undefined) return;
  const actual = resource && resource.status !== "DELETED" ? resource.revision : 0;
  if (expected !== actual) {
    throw new AbortedError(
      `expected_revision is ${expected} but the resource is at revision ${actual}: re-read it and retry`,
    );
  }
}

export function raiseViolations(violations: Violation[]): void {
  if (violations.length === 0) return;
  if (violations.every((v) => v.transition)) {
    throw new FailedPreconditionError(violations.map((v) => `${v.field}: ${v.description}`).join("; "), violations);
  }
  throw new InvalidArgumentError(violations);
}
