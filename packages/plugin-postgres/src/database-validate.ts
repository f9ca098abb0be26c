import type { Violation } from "@plinth/core";
import { defaultOwner } from "./database-defaults.ts";
import { guardrailViolations } from "./database-guardrails.ts";
import type { DatabaseSpec } from "./database-spec.ts";
import { identifierViolations, maxIdentifierBytes } from "./identifier-rules.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/** Fields that name the database's place and identity: fixed once it exists. */
const fixedFields = ["instance", "database", "owner"] as const;

function fixedFieldChange(name: string, field: (typeof fixedFields)[number], from: string, to: string): Violation {
  const how: Record<typeof field, string> = {
    instance: `create a database on "${to}", move the data and clients, then delete "${name}"`,
    database: "PostgreSQL clients and grants refer to it by name: create a new resource instead",
    owner: "the owner role holds the generated password that clients use: bump rotation for a new password instead",
  };
  return {
    field,
    reason: `${field.toUpperCase()}_CHANGE`,
    description: `${field} cannot change once the database exists ("${from}" → "${to}" refused): ${how[field]}`,
    transition: true,
  };
}

/** The database name's violations: on "name" when it is the resource name, else on "database". */
function databaseNameViolations(name: string, database: string): Violation[] {
  const fromName = database === name;
  return identifierViolations(fromName ? "name" : "database", database, "database").map((violation) =>
    fromName
      ? { ...violation, description: `${violation.description} (or set spec.database to a valid database name)` }
      : violation,
  );
}

function ownerViolations(spec: DatabaseSpec, adminUser: string | undefined): Violation[] {
  const owner = spec.owner;
  if (owner === undefined || spec.database === undefined) return [];
  if (owner === defaultOwner(spec.database) && owner.length > maxIdentifierBytes) {
    return [
      {
        field: "owner",
        reason: "INVALID_IDENTIFIER",
        description: `the default owner "${owner}" is longer than ${maxIdentifierBytes} bytes: set spec.owner to a shorter role name`,
      },
    ];
  }
  const violations = identifierViolations("owner", owner, "role");
  if (violations.length === 0 && owner === adminUser) {
    violations.push({
      field: "owner",
      reason: "ADMIN_ROLE",
      description: `"${owner}" is the role Plinth administers instance "${spec.instance}" with: pick a role of the database's own`,
    });
  }
  return violations;
}

/**
 * Checks a transition of database resource `name` from `previous`
 * (undefined on create) to the resolved `next`: names, the instance and its
 * allowed extensions, fixed fields, rotation and the instance's guardrails
 * (see `guardrailViolations`). Every violation names its field and what is
 * allowed; `reason` is stable for machines. Pure.
 */
export function validateDatabase(
  name: string,
  next: DatabaseSpec,
  previous: DatabaseSpec | undefined,
  settings: PostgresSettings,
): Violation[] {
  const violations: Violation[] = [];
  const instance = settings.instances[next.instance];
  if (!instance) {
    const known = Object.keys(settings.instances).sort();
    violations.push({
      field: "instance",
      reason: "UNKNOWN_INSTANCE",
      description: `unknown instance "${next.instance}"; allowed: ${known.join(", ") || "(none configured)"}`,
    });
  }
  if (next.database !== undefined) violations.push(...databaseNameViolations(name, next.database));
  violations.push(...ownerViolations(next, instance?.adminUser));
  if (previous) {
    for (const field of fixedFields) {
      const from = previous[field];
      const to = next[field];
      if (from !== undefined && to !== undefined && from !== to)
        violations.push(fixedFieldChange(name, field, from, to));
    }
    if (next.rotation < previous.rotation) {
      violations.push({
        field: "rotation",
        reason: "ROTATION_DECREASE",
        description: `rotation only grows (${previous.rotation} → ${next.rotation} refused): set it above ${previous.rotation} for a new password, or leave it at ${previous.rotation}`,
        transition: true,
      });
    }
  }
  if (!instance) return violations;
  const allowed = new Set(instance.allowedExtensions);
  const before = new Set(previous?.extensions ?? []);
  for (const [index, extension] of next.extensions.entries()) {
    if (!allowed.has(extension) && !before.has(extension)) {
      violations.push({
        field: `extensions.${index}`,
        reason: "EXTENSION_NOT_ALLOWED",
        description: `extension "${extension}" is not allowed on instance "${next.instance}"; allowed: ${[...allowed].sort().join(", ") || "(none)"}`,
      });
    }
  }
  violations.push(...guardrailViolations(next, previous, instance));
  return violations;
}

/** Deletion protection: a protected database is refused (FAILED_PRECONDITION) until a reviewed update removes it. */
export function validateDatabaseDelete(name: string, previous: DatabaseSpec): Violation[] {
  if (!previous.protect) return [];
  return [
    {
      field: "protect",
      reason: "PROTECTED",
      description: `"${name}" is protected: apply a change with protect: false (it needs a reviewer) before deleting it`,
    },
  ];
}
