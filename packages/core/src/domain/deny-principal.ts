import type { DenialRecord } from "../store/records.ts";
import { InvalidArgumentError, PermissionDeniedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import type { Principal } from "./types.ts";
import { auditIdentity } from "./audit-identity.ts";

const isAdmin = (principal: Principal) =>
  (principal.teams ?? [{ roles: principal.roles }]).some((membership) => membership.roles.includes("admin"));

function assertAdmin(principal: Principal, what: string): void {
  if (!isAdmin(principal)) throw new PermissionDeniedError(`only an admin may ${what}`);
}

/**
 * Denies a principal: at once on the replica that took the call, within a
 * second on the others (each keeps a copy of the list, server/deny-list.ts).
 * Idempotent; an admin cannot deny itself (nobody would be left to lift it).
 */
export async function denyPrincipal(
  deps: LifecycleDeps,
  admin: Principal,
  principal: string,
  reason: string,
): Promise<DenialRecord> {
  assertAdmin(admin, "deny a principal");
  const violations = [
    ...(principal.trim() === "" ? [{ field: "principal", description: "name the principal to deny" }] : []),
    ...(reason.trim() === "" ? [{ field: "reason", description: "say why, for the audit log" }] : []),
    ...(reason.length > 1000 ? [{ field: "reason", description: "at most 1000 characters" }] : []),
  ];
  if (principal === admin.id) violations.push({ field: "principal", description: "an admin cannot deny itself" });
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  const denial = { principal, reason, deniedBy: admin.id, deniedAt: deps.now().toISOString() };
  await deps.store.transact(async (tx) => {
    await tx.upsertDenial(denial);
    await tx.appendAudit({
      time: denial.deniedAt,
      principal: admin.id,
      action: "deny-principal",
      target: principal,
      details: { reason, ...auditIdentity(admin) },
    });
  });
  return denial;
}

/** Lifts a denial. Idempotent. */
export async function allowPrincipal(deps: LifecycleDeps, admin: Principal, principal: string): Promise<void> {
  assertAdmin(admin, "lift a denial");
  await deps.store.transact(async (tx) => {
    await tx.deleteDenial(principal);
    await tx.appendAudit({
      time: deps.now().toISOString(),
      principal: admin.id,
      action: "allow-principal",
      target: principal,
      details: { ...auditIdentity(admin) },
    });
  });
}

export async function listDenials(deps: LifecycleDeps, admin: Principal): Promise<DenialRecord[]> {
  assertAdmin(admin, "list denied principals");
  return await deps.store.listDenials();
}
