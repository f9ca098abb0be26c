import { auditIdentity } from "./audit-identity.ts";
import { emitNotification } from "../notifications/emit-notification.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import type { Json, Principal } from "./types.ts";

/**
 * Returns one secret output to the owning team or an admin, and records the
 * reveal in the audit log in the same transaction: no audit, no secret.
 */
export async function revealSecret(
  deps: LifecycleDeps & { secrets: SecretBox },
  principal: Principal,
  input: { type: string; name: string; key: string },
): Promise<Json> {
  if (!input.key)
    throw new InvalidArgumentError([
      { field: "key", description: "is required: one of the resource's secret_output_keys" },
    ]);
  const outcome = await deps.store.transact(async (tx) => {
    const resource = await tx.getResource(input.type, input.name);
    if (!resource || resource.status === "DELETED")
      throw new NotFoundError(`${input.type} "${input.name}" does not exist`);
    if (resource.ownerTeam !== principal.team && !principal.roles.includes("admin")) {
      // A refused attempt is recorded too (someone probing for credentials is worth knowing about),
      // so this transaction commits and the refusal is thrown after it.
      await tx.appendAudit({
        time: deps.now().toISOString(),
        principal: principal.id,
        action: "reveal-secret-denied",
        target: `${input.type}/${input.name}#${input.key}`,
        details: { ownerTeam: resource.ownerTeam, ...auditIdentity(principal), team: principal.team },
      });
      return {
        denied: `only team ${resource.ownerTeam} or an admin may reveal secrets of ${input.type} "${input.name}"`,
      };
    }
    const secrets = resource.secretOutputs ? deps.secrets.open(resource.secretOutputs) : {};
    if (!(input.key in secrets)) {
      throw new NotFoundError(
        `${input.type} "${input.name}" has no secret output "${input.key}"; it has: ${resource.secretOutputKeys.join(", ") || "none"}`,
      );
    }
    await tx.appendAudit({
      time: deps.now().toISOString(),
      principal: principal.id,
      action: "reveal-secret",
      target: `${input.type}/${input.name}#${input.key}`,
      details: { revision: resource.revision, ...auditIdentity(principal) },
    });
    // Who and which key, never the value.
    await emitNotification(tx, deps, {
      kind: "SECRET_REVEALED",
      type: input.type,
      name: input.name,
      team: resource.ownerTeam,
      change: null,
      message: `${principal.id} revealed the secret output "${input.key}" of ${input.type} "${input.name}"`,
      details: { revealedBy: principal.id, key: input.key },
    });
    return { value: secrets[input.key] ?? null };
  });
  if ("denied" in outcome) throw new PermissionDeniedError(outcome.denied);
  return outcome.value;
}
