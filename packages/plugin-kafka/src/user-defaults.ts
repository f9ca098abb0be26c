import type { Defaulted } from "@plinth/core";
import type { UserSpec } from "./user-spec.ts";

/**
 * Fills `consumerGroups` when any grant reads and the spec does not say:
 * groups whose id starts with the user name. Idempotent; the explanation
 * depends only on the values.
 */
export function resolveUserDefaults(name: string, spec: UserSpec): Defaulted<UserSpec> {
  const reads = spec.access.some((grant) => grant.operations !== "write");
  if (!reads) return { spec };
  const groups = spec.consumerGroups ?? { prefix: name };
  // Explained whenever it is the default's value, so a resolved spec reads the same as a fresh one.
  const isDefault = groups !== "all" && groups.prefix === name;
  return {
    spec: { ...spec, consumerGroups: groups },
    explanations: isDefault
      ? {
          consumerGroups:
            `consumers need READ on their consumer group: groups whose id starts with "${name}" (the user name), ` +
            `so each application's groups stay its own; set consumerGroups to choose another prefix`,
        }
      : {},
  };
}
