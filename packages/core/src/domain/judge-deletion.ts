import type { LoadedPlugin } from "../plugin/registry.ts";
import type { StoreTx } from "../store/store.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { createResourceLookup, dependentsOf } from "./ownership.ts";
import { pluginReview, validateDeletion } from "./plugin-calls.ts";
import { decideReview } from "./review-policy.ts";
import { specDifferences } from "./spec-diff.ts";
import { raiseViolations } from "./submit-checks.ts";
import type { JsonObject, Principal } from "./types.ts";

/**
 * A deletion judged for `principal`, the same way wherever it is submitted
 * (DeleteResource, a change set, its plan): the plugin's refusals are raised,
 * then its diff, its review and what depends on it are returned.
 */
export async function judgeDeletion(
  tx: StoreTx,
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  principal: Principal,
  name: string,
  previous: JsonObject | undefined,
) {
  raiseViolations(validateDeletion(plugin, name, previous));
  const differences = specDifferences(previous, undefined);
  const judged = { kind: "DELETE" as const, name, previous, next: undefined, differences, principal };
  const review = decideReview(deps.reviewPolicy, judged, pluginReview(plugin, judged));
  const dependents = await dependentsOf(plugin, name, previous, createResourceLookup(tx));
  return { differences, requiredApprovals: review.approvals, reviewReasons: [...review.reasons, ...dependents] };
}
