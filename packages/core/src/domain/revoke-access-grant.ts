import { hasRole } from "./authorization.ts";
import type { StoreTx } from "../store/store.ts";
import { AbortedError, FailedPreconditionError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { createResourceLookup, foreignReaches } from "./ownership.ts";
import { guarded } from "./plugin-calls.ts";
import { type DesiredState, checkCommonFields, replayIfSeen, requestHash } from "./submit-checks.ts";
import { submitApply } from "./submit-change.ts";
import type { SubmitResult } from "./submit-types.ts";
import type { Principal, TeamMembership } from "./types.ts";

export interface RevokeAccessGrantInput {
  type: string;
  name: string;
  /** The reach's field, as ListAccessGrants names it, e.g. "access.0.topics". */
  field: string;
  requestId: string;
  comment: string;
  /**
   * The owning team the caller revokes for, already checked as one it may
   * act for; "" for whichever of its teams owns what the grant reaches.
   */
  team: string;
}

/**
 * RevokeAccessGrant: a reviewer of the team owning what another team's
 * resource reaches (or an admin) submits the change that removes the reach.
 * It goes through the whole submit path as the resource's next revision
 * (validated and reviewed like any other change: narrowing needs no
 * approval unless the engine preview is destructive), is audited, and stays
 * in the resource's history.
 */
export async function revokeAccessGrant(
  deps: LifecycleDeps,
  principal: Principal,
  input: RevokeAccessGrantInput,
): Promise<SubmitResult> {
  const plugin = checkCommonFields(deps, input.type, input.name, input.requestId, { comment: input.comment });
  // A person in several teams revokes for the one that owns what the grant reaches, unless they named one.
  const memberships: TeamMembership[] =
    input.team === "" && principal.teams ? principal.teams : [{ team: principal.team, roles: principal.roles }];
  const reviews = memberships.filter((membership) => hasRole({ ...principal, ...membership }, "reviewer"));
  if (reviews.length === 0) {
    throw new PermissionDeniedError(
      `${principal.id} has no reviewer role: a reviewer of the team owning what is reached revokes a grant`,
    );
  }
  const hash = requestHash("revoke-access-grant", { ...input, requestId: undefined });
  if (input.requestId) {
    const replay = await deps.store.transact((tx) => replayIfSeen(tx, principal, input.requestId, hash));
    if (replay) return replay;
  }
  const resource = await deps.store.getResource(input.type, input.name);
  if (!resource || resource.status === "DELETED" || resource.revision === 0 || !resource.spec) {
    throw new NotFoundError(`${input.type} "${input.name}" has no applied revision whose grants could be revoked`);
  }
  const admin = reviews.some((membership) => membership.roles.includes("admin"));
  const reviewsFor = (team: string) => admin || reviews.some((membership) => membership.team === team);
  const reaches = await foreignReaches(
    plugin,
    input.name,
    resource.resolvedSpec ?? undefined,
    resource.ownerTeam,
    createResourceLookup(deps.store),
  );
  const reach = reaches.find((r) => r.field === input.field && reviewsFor(r.ownerTeam));
  if (!reach) {
    const yours = reaches.filter((r) => reviewsFor(r.ownerTeam));
    const whose = admin ? "another team" : `team ${reviews.map((membership) => membership.team).join(" or ")}`;
    throw new NotFoundError(
      `${input.type} "${input.name}" has no grant at "${input.field}" reaching what ${whose} owns` +
        (yours.length > 0
          ? `; its grants that do: ${yours.map((r) => `${r.field} (${r.access})`).join(", ")}`
          : "; it reaches nothing of yours"),
    );
  }
  const revoke = plugin.definition.revoke;
  if (!revoke) {
    throw new FailedPreconditionError(
      `${input.type} does not support revoking one grant: ask team ${resource.ownerTeam}`,
    );
  }
  // Built on the latest live spec, in the submit's transaction: a change the holder has open is not undone by
  // the revocation, which queues behind it; a grant that change moved or dropped is not revoked blindly.
  const rebase = async (state: DesiredState, tx: StoreTx) => {
    const live = await foreignReaches(
      plugin,
      input.name,
      state.resolvedSpec,
      resource.ownerTeam,
      createResourceLookup(tx),
    );
    if (!state.spec || !live.some((r) => r.field === reach.field && r.access === reach.access)) {
      throw new AbortedError(
        `an open change to ${input.type} "${input.name}" no longer grants "${reach.access}" at "${reach.field}": re-read its grants and retry`,
      );
    }
    const spec = state.spec;
    const revoked = guarded(plugin, "revoke", () => revoke(input.name, spec, input.field, plugin.context));
    if (!revoked.spec) throw new FailedPreconditionError(revoked.refusal);
    return revoked.spec;
  };
  // Recorded under the owning team: that is what makes the change its revocation (see review-change.ts).
  const owner = reviews.find((membership) => membership.team === reach.ownerTeam);
  const revoker = owner && !admin ? { ...principal, team: owner.team, roles: owner.roles } : principal;
  return await submitApply(
    deps,
    revoker,
    {
      type: input.type,
      name: input.name,
      spec: resource.spec,
      requestId: input.requestId,
      expectedRevision: resource.revision,
      comment: input.comment || `${reach.ownerTeam} revokes: ${reach.access}`,
      labels: resource.labels,
    },
    { revocation: { field: reach.field, access: reach.access, ownerTeam: reach.ownerTeam, hash }, rebase },
  );
}
