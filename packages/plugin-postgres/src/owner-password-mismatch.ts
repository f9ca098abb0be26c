import { withInstanceClient } from "./admin-connection.ts";
import type { DatabaseSpec } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/** invalid_password, and invalid_authorization_specification (the role may not log in at all). */
const refusedCodes = new Set(["28P01", "28000"]);

/**
 * Why the database's owner role cannot log in with `password` (the one
 * Plinth holds) although it exists: its password differs (clients use one
 * Plinth does not hold), or it may not log in (NOLOGIN set outside Plinth,
 * perhaps on purpose). Undefined when it logs in, or when the database is
 * gone (the listing reports that; no client logs in to it). Any apply sets
 * the password and LOGIN back, so core holds it for a reviewer on either.
 * One login, and one query as the admin only when refused. Read-only;
 * throws when it cannot be told. The message never holds a password.
 */
export async function ownerPasswordMismatch(
  name: string,
  spec: DatabaseSpec,
  password: string,
  settings: PostgresSettings,
): Promise<string | undefined> {
  const instance = settings.instances[spec.instance];
  const database = spec.database ?? name;
  if (!instance || !spec.owner) return undefined;
  try {
    await withInstanceClient(spec.instance, instance, async () => undefined, {
      database,
      user: spec.owner,
      password,
    });
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    // invalid_catalog_name: the database is gone, which the listing reports.
    if (code === "3D000") return undefined;
    if (!refusedCodes.has(code)) throw error;
  }
  const role = await withInstanceClient(spec.instance, instance, async (client) => {
    const { rows } = await client.query<{ login: boolean }>(
      "select rolcanlogin as login from pg_roles where rolname = $1",
      [spec.owner],
    );
    return rows[0];
  });
  // Gone with its database (a role that owns one cannot be dropped): the listing reports it.
  if (!role) return undefined;
  if (!role.login) {
    return (
      `role ${spec.owner} may not log in to database "${database}" (NOLOGIN, set outside Plinth): an apply lets it ` +
      "log in again with the password Plinth holds, so it is reviewed"
    );
  }
  return (
    `role ${spec.owner} cannot log in to database "${database}" with the password Plinth holds: the role's ` +
    "password does not match it (a store restored from before a rotation, or an ALTER ROLE outside Plinth), so its " +
    "clients use another. Adopt that one (plinth-server adopt-secrets, from the store a restore replaced) or set " +
    "it back (plinth reconcile: always reviewed, since it cuts those clients off)"
  );
}
