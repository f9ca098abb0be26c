import type { LoadedPlugin } from "../plugin/registry.ts";
import type { StoreTx } from "../store/store.ts";
import { AlreadyExistsError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { applyDefaults, identityOf, parseSpec, pluginReview, validateTransition } from "./plugin-calls.ts";
import { decideReview } from "./review-policy.ts";
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
  force = false,
): Promise<Plan> {
  const parsed = parseSpec(plugin, spec);
  const { spec: resolvedSpec, explanations = {} } = applyDefaults(plugin, name, parsed);
  raiseViolations(validateTransition(plugin, name, resolvedSpec, state.exists ? state.resolvedSpec : undefined));
  const identity = identityOf(plugin, name, resolvedSpec);
  const holder = await tx.findResourceByIdentity(plugin.definition.type, identity);
  if (holder && holder.name !== name) {
    throw new AlreadyExistsError(
      `${plugin.definition.type} "${holder.name}" (team ${holder.ownerTeam}) already holds the identity "${identity}" that "${name}" would have`,
    );
  }
  const kind: ChangeKind = state.exists ? "UPDATE" : "CREATE";
  const noOp = !force && state.exists && sameJson(state.resolvedSpec, resolvedSpec) && sameJson(state.labels, labels);
  const differences = specDifferences(state.exists ? state.resolvedSpec : undefined, resolvedSpec);
  const review = decideReview(
    deps.reviewPolicy,
    { kind, name, previous: state.exists ? state.resolvedSpec : undefined, next: resolvedSpec, differences, principal },
    pluginReview(plugin, { kind, name, previous: state.resolvedSpec, next: resolvedSpec, differences, principal }),
  );
  return {
    kind,
    resolvedSpec,
    explanations,
    identity,
    differences,
    noOp,
    requiredApprovals: review.approvals,
    reviewReasons: review.reasons,
  };
}
