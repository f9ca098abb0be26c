import type { Defaulted } from "@plinth/core";
import type { DatabaseSpec } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/** The owner role a database gets when the spec names none. */
export function defaultOwner(database: string): string {
  return `${database}_owner`;
}

/**
 * Fills `database` (the resource name), `owner` (`<database>_owner`) and
 * `connectionLimit` (the instance's default) where the spec leaves them
 * out, and sorts and de-duplicates `extensions`.
 *
 * Pure and idempotent. Explicit values always win, and the explanations are
 * a function of the resolved values alone, so a value filled here and the
 * same value written by hand are indistinguishable: defaults(defaults(x))
 * returns the same spec AND the same explanations. An unknown instance is
 * left for `validate` to report (no connection limit is filled then).
 */
export function resolveDatabaseDefaults(
  name: string,
  spec: DatabaseSpec,
  settings: PostgresSettings,
): Defaulted<DatabaseSpec> {
  const explanations: Record<string, string> = {};
  const database = spec.database ?? name;
  explanations.database =
    database === name
      ? `${database}: the resource name`
      : `${database}: set in the spec (the default would be the resource name, ${name})`;

  const owner = spec.owner ?? defaultOwner(database);
  const why = "one role per database, so its password opens this database and nothing else";
  explanations.owner =
    owner === defaultOwner(database)
      ? `${owner}: <database>_owner, ${why}`
      : `${owner}: set in the spec (the default would be ${defaultOwner(database)}: ${why})`;

  const instance = settings.instances[spec.instance];
  let connectionLimit = spec.connectionLimit;
  if (instance) {
    const standard = instance.defaults.connectionLimit;
    connectionLimit ??= standard;
    explanations.connectionLimit =
      connectionLimit === standard
        ? `${standard}: the default of instance "${spec.instance}"`
        : `${connectionLimit}: set in the spec (the default of instance "${spec.instance}" is ${standard})`;
  }

  const extensions = [...new Set(spec.extensions)].sort();
  return { spec: canonical({ ...spec, database, owner, connectionLimit, extensions }), explanations };
}

/** Fixed key order, no undefined values: equal specs serialize equally. */
function canonical(spec: DatabaseSpec): DatabaseSpec {
  const ordered: DatabaseSpec = {
    team: spec.team,
    instance: spec.instance,
    database: spec.database,
    owner: spec.owner,
    extensions: spec.extensions,
    connectionLimit: spec.connectionLimit,
    protect: spec.protect,
    rotation: spec.rotation,
    description: spec.description,
  };
  return JSON.parse(JSON.stringify(ordered)) as DatabaseSpec;
}
