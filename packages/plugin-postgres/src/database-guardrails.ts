import type { Violation } from "@plinth/core";
import type { DatabaseSpec } from "./database-spec.ts";
import type { InstanceSettings } from "./instance-settings.ts";

/** A reason of a violation an admin may override (with a reviewer). */
export function isGuardrailReason(reason: string | undefined): boolean {
  return reason?.startsWith("GUARDRAIL_") ?? false;
}

/**
 * The instance's guardrails applied to a create or update. They judge what
 * changes (a limit no higher than before passes), so a database an admin
 * took past a guardrail stays updatable. Every reason starts with
 * "GUARDRAIL_". Pure.
 */
export function guardrailViolations(
  next: DatabaseSpec,
  previous: DatabaseSpec | undefined,
  instance: InstanceSettings,
): Violation[] {
  const max = instance.guardrails.maxConnectionLimit;
  const limit = next.connectionLimit;
  if (limit === undefined || limit <= max || limit <= (previous?.connectionLimit ?? 0)) return [];
  return [
    {
      field: "connectionLimit",
      reason: "GUARDRAIL_MAX_CONNECTION_LIMIT",
      description: `at most ${max} connections per database on instance "${next.instance}" (an admin may override this; the change then needs a reviewer)`,
      overridable: true,
    },
  ];
}
