import type { JsonObject, Revocation } from "@plinth/core";

const grantField = /^access\.(\d+)\.topics$/;

/**
 * The written spec of user `name` without the grant at `field`, as the team
 * owning what it reaches revokes it: `access.<i>.topics` drops that grant
 * (the user's last one leaves it without any ACL); `consumerGroups` falls
 * back to the user's own groups (those starting with its name). Pure.
 */
export function revokeUserGrant(name: string, spec: JsonObject, field: string): Revocation {
  const access = Array.isArray(spec.access) ? spec.access : [];
  const index = grantField.exec(field)?.[1];
  if (index !== undefined && Number(index) < access.length) {
    return { spec: { ...spec, access: access.filter((_, at) => at !== Number(index)) } };
  }
  if (field === "consumerGroups") return { spec: { ...spec, consumerGroups: { prefix: name } } };
  return { refusal: `kafka.user has no grant at "${field}" (grants are at access.<i>.topics and consumerGroups)` };
}
