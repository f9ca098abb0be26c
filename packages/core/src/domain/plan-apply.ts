import type { LoadedPlugin } from "../plugin/registry.ts";
import type { AccessRequestRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import {
  accessRequestsOf,
  createResourceLookup,
  decideOwner,
  describeAccessRequest,
  ownersOnlyReachViolations,
  unownedReachViolations,
} from "./ownership.ts";
import { AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError } from "./errors.ts";
import type { Precheck, Violation } from "../plugin/define-plugin.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { applyDefaults, identityOf, parseSpec, pluginReview, validateTransition } from "./plugin-calls.ts";
import { decideReview } from "./review-policy.ts";
import { checkQuota, withOpenChanges } from "./team-quota.ts";
import { grantExposureViolations, lockReaches } from "./grant-exposure.ts";
import { sameJson, specDifferences } from "./spec-diff.ts";
import type { ChangeKind, JsonObject, Principal, SpecDifference } from "./types.ts";
import { type DesiredState, raiseViolations } from "./submit-checks.ts";

export interface Plan {
  kind: ChangeKind;
  resolvedSpec: JsonObject;
  explanations: Record<string, string>;
  identity: string;
  differences: SpecDifference[];
  noOp: boolean;
  requiredApprovals: number;
  reviewReasons: string[];
  /** Set when an admin overrode guardrails: what was overridden, for the audit log. */
  overriddenGuardrails?: string;
  /** The owning team (the spec's owner); during a transfer, still the giving team. */
  ownerTeam: string;
  /** What the change asks of other teams; each owning team's reviewer must approve. */
  accessRequests: AccessRequestRecord[];
}

/** Steps 2-6 of the submit path: parse, defaults, validate, identity, no-op and review. Writes nothing. */
export async function planApply(
  tx: StoreTx,
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  principal: Principal,
  name: string,
  spec: JsonObject,
  labels: Record<string, string>,
  state: DesiredState,
  options: {
    force?: boolean;
    overrideGuardrails?: boolean;
    repair?: "auto" | "review";
    /** The spec already resolved when the change was submitted: a verdict at claim judges what will be applied. */
    resolved?: { spec: JsonObject; explanations: Record<string, string> };
    /** What the plugin's `precheck` said of this spec (run before the transaction). */
    precheck?: Precheck;
  } = {},
): Promise<Plan> {
  const { spec: resolvedSpec, explanations = {} } =
    options.resolved ?? applyDefaults(plugin, name, parseSpec(plugin, spec));
  const previousSpec = state.exists ? state.resolvedSpec : undefined;
  const lookup = createResourceLookup(tx);
  await lockReaches(tx, deps.plugins.list(), plugin);
  const kind: ChangeKind = state.exists ? "UPDATE" : "CREATE";
  const current = state.exists && state.resource?.status !== "DELETED" ? state.resource?.ownerTeam : undefined;
  const owner = decideOwner(plugin, principal, resolvedSpec, current);
  const violations = [
    ...validateTransition(plugin, name, resolvedSpec, previousSpec),
    ...(await unownedReachViolations(plugin, lookup, { name, next: resolvedSpec, previous: previousSpec })),
    ...(await ownersOnlyReachViolations(plugin, lookup, {
      name,
      team: owner.transferTo ?? owner.team,
      next: resolvedSpec,
      previous: previousSpec,
    })),
    ...(options.precheck?.violations ?? []),
  ];
  let overridden = guardrailOverride(principal, violations, options.overrideGuardrails === true);
  raiseViolations(overridden ? [] : violations);
  const identity = identityOf(plugin, name, resolvedSpec);
  const holder = await tx.findResourceByIdentity(plugin.definition.type, identity);
  if (holder && holder.name !== name) {
    throw new AlreadyExistsError(
      `${plugin.definition.type} "${holder.name}" (team ${holder.ownerTeam}) already holds the identity "${identity}" that "${name}" would have`,
    );
  }
  if (kind === "CREATE" || owner.transferTo) {
    const exposed = await grantExposureViolations(deps.plugins.list(), tx, {
      type: plugin.definition.type,
      name,
      team: owner.transferTo ?? owner.team,
      spec: resolvedSpec,
      previousTeam: owner.transferTo ? owner.team : undefined,
    });
    // guardrailOverride already refused the flag to anyone but an admin.
    if (options.overrideGuardrails !== true) raiseViolations(exposed);
    else if (exposed.length > 0) {
      overridden = [overridden, ...exposed.map((v) => `${v.field}: ${v.description}`)].filter(Boolean).join("; ");
    }
  }
  try {
    await checkQuota(
      plugin,
      withOpenChanges(tx, lookup),
      {
        name,
        team: owner.transferTo ?? owner.team,
        previousTeam: owner.team,
        next: resolvedSpec,
        previous: state.exists ? state.resolvedSpec : undefined,
      },
      tx.lock?.bind(tx),
    );
  } catch (error) {
    // guardrailOverride already refused the flag to anyone but an admin.
    if (!(error instanceof ResourceExhaustedError) || options.overrideGuardrails !== true) throw error;
    overridden = [overridden, `quota: ${error.message}`].filter(Boolean).join("; ");
  }
  const accessRequests = await accessRequestsOf(plugin, lookup, {
    name,
    ownTeam: owner.team,
    next: resolvedSpec,
    previous: state.exists ? state.resolvedSpec : undefined,
    transferTo: owner.transferTo,
  });
  const noOp =
    !options.force && state.exists && sameJson(state.resolvedSpec, resolvedSpec) && sameJson(state.labels, labels);
  const differences = specDifferences(state.exists ? state.resolvedSpec : undefined, resolvedSpec);
  const review = decideReview(
    deps.reviewPolicy,
    { kind, name, previous: state.exists ? state.resolvedSpec : undefined, next: resolvedSpec, differences, principal },
    pluginReview(plugin, { kind, name, previous: state.resolvedSpec, next: resolvedSpec, differences, principal }),
  );
  // An override is never self-service, nor is a reach into another team: someone else reviews it.
  const needsReviewer = overridden !== undefined || accessRequests.length > 0;
  const reasons = needsReviewer ? review.reasons.filter((r) => !r.startsWith("auto-approved")) : review.reasons;
  if (overridden) reasons.push(`admin override of guardrails: ${overridden}`);
  reasons.push(...(options.precheck?.findings ?? []));
  reasons.push(...accessRequests.map(describeAccessRequest));
  let requiredApprovals = needsReviewer ? Math.max(1, review.approvals) : review.approvals;
  if (options.repair === "auto" && !needsReviewer) {
    requiredApprovals = 0;
    reasons.splice(0, reasons.length, "automatic repair of drift (repair: auto)");
  } else if (options.repair === "review") {
    requiredApprovals = Math.max(1, requiredApprovals);
    reasons.push("repair of drift held for review (repair: review)");
  }
  return {
    kind,
    resolvedSpec,
    explanations,
    identity,
    differences,
    noOp,
    requiredApprovals,
    reviewReasons: reasons,
    overriddenGuardrails: overridden,
    ownerTeam: owner.team,
    accessRequests,
  };
}

/**
 * Whether an admin's explicit override lets overridable violations through.
 * Returns what was overridden, in words, or undefined when nothing was.
 */
function guardrailOverride(principal: Principal, violations: Violation[], requested: boolean): string | undefined {
  if (!requested) return undefined;
  if (!principal.roles.includes("admin")) {
    throw new PermissionDeniedError("only an admin may override guardrails (override_guardrails)");
  }
  if (violations.length === 0 || !violations.every((violation) => violation.overridable)) return undefined;
  return violations.map((violation) => `${violation.field}: ${violation.description}`).join("; ");
}
